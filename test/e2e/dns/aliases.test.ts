/**
 * The embedded resolver with real `--network-alias`, `network connect --alias`
 * and `network disconnect`, containerd namespaces, and garbage on its ports.
 * Networks dns2-* on 10.232.0.0/16. The store's dns/resolv.conf names no
 * upstream, so nothing is forwarded anywhere (unknown names get SERVFAIL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { execa } from 'execa';
import * as dnsPacket from 'dns-packet';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { addressHash } from '../../../src/domain/settings.ts';
import { dnsServerPid, stopDnsServer } from '../../../src/adapters/dns/process-dns-server.ts';

const GW1 = '10.232.1.1';
const GW2 = '10.232.2.1';

let env: TestEnv;
let dnsDir: string;
/** A second containerd namespace of the same containerd (its CNI IDs still start with the env's namespace). */
let ns2: string;

const ok = (args: string[]) => h.ok(env, args);
const ok2 = (args: string[]) => h.ok(env, ['--namespace', ns2, ...args]);
const ipOf = (name: string, net: string) => h.ipOf(env, name, net);

/** The addresses busybox nslookup prints for `name` asked at `server` from `container` (empty when none). */
async function lookup(container: string, name: string, server: string, namespace?: string) {
  const args = [...(namespace ? ['--namespace', namespace] : []), 'exec', container, 'nslookup', '-type=a', name, server];
  const r = await tsnerd(env, args, { timeoutMs: 60_000 });
  const answers = r.stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  return { addresses: [...answers.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]!), output: r.stdout + r.stderr };
}

function udpRaw(server: string, msg: Buffer, timeoutMs = 1_000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, 53, server);
  });
}

function tcpRaw(server: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect({ host: server, port: 53 }, () => sock.end(bytes));
    sock.on('data', () => undefined);
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
}

describe('DNS: aliases, connect/disconnect, namespaces, malformed packets (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    env = await startEnv('dns2-aliases');
    ns2 = `${env.namespace}-b`;
    await importTestImage(env);
    const imported = await execa('ctr', ['-a', env.address, '-n', ns2, 'images', 'import', await h.testImageArchive()], { reject: false });
    assert.equal(imported.exitCode, 0, imported.stderr);
    dnsDir = join(env.dataRoot, addressHash(env.address), 'dns');
    await mkdir(dnsDir, { recursive: true });
    await writeFile(join(dnsDir, 'resolv.conf'), ''); // no upstream: nothing leaves the machine
    await ok(['network', 'create', 'dns2-n1', '--subnet', '10.232.1.0/24']);
    await ok(['network', 'create', 'dns2-n2', '--subnet', '10.232.2.0/24']);
    // Networks belong to a namespace (conflists in <netconfpath>/<namespace>/): ns2 makes its own dns2-n1, the
    // same network (its bridge and address pool follow from its name), while no bridge is up to overlap with.
    await ok2(['network', 'create', 'dns2-n1', '--subnet', '10.232.1.0/24']);
  });

  after(async () => {
    for (const ns of [ns2, env.namespace]) {
      const ids = h.lines((await tsnerd(env, ['--namespace', ns, 'ps', '-aq'])).stdout);
      if (ids.length > 0) await tsnerd(env, ['--namespace', ns, 'rm', '-f', ...ids]);
    }
    await tsnerd(env, ['--namespace', ns2, 'network', 'rm', 'dns2-n1']);
    await tsnerd(env, ['network', 'rm', 'dns2-n1', 'dns2-n2']);
    if (dnsDir) await stopDnsServer(dnsDir);
    await env.stop();
  });

  it('answers a --network-alias shared by two containers with both addresses, round-robin', async () => {
    await ok(['run', '-d', '--name', 'dns2-a1', '--net', 'dns2-n1', '--network-alias', 'dns2-svc', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'dns2-a2', '--net', 'dns2-n1', '--network-alias', 'dns2-svc', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'dns2-c', '--net', 'dns2-n1', 'busybox', 'sleep', '1000']);
    const both = [await ipOf('dns2-a1', 'dns2-n1'), await ipOf('dns2-a2', 'dns2-n1')].sort();
    await ok(['exec', 'dns2-c', 'sh', '-c', ': > /etc/hosts']);
    const firsts = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await lookup('dns2-c', 'dns2-svc', GW1);
      assert.deepEqual([...r.addresses].sort(), both, r.output);
      firsts.add(r.addresses[0]!);
    }
    assert.equal(firsts.size, 2, 'each address comes first in turn');
    assert.deepEqual((await lookup('dns2-c', 'dns2-svc.dns2-n1', GW1)).addresses.sort(), both);
  });

  it('serves an alias added by network connect at the next query, and drops it at disconnect', async () => {
    await ok(['run', '-d', '--name', 'dns2-p', '--net', 'dns2-n2', 'busybox', 'sleep', '1000']);
    const pid = await dnsServerPid(dnsDir);
    await ok(['network', 'connect', '--alias', 'dns2-late', 'dns2-n2', 'dns2-a1']);
    const a1 = await ipOf('dns2-a1', 'dns2-n2');
    // The first query after connect returns: no retry.
    assert.deepEqual((await lookup('dns2-p', 'dns2-late', GW2)).addresses, [a1]);
    assert.deepEqual((await lookup('dns2-p', 'dns2-a1.dns2-n2', GW2)).addresses, [a1]);
    // Its alias on dns2-n1 stays there: dns2-p is not on dns2-n1.
    assert.deepEqual((await lookup('dns2-p', 'dns2-svc', GW2)).addresses, []);

    await ok(['network', 'disconnect', 'dns2-n2', 'dns2-a1']);
    const gone = await lookup('dns2-p', 'dns2-late.dns2-n2', GW2);
    assert.deepEqual(gone.addresses, []);
    assert.match(gone.output, /NXDOMAIN/);
    assert.deepEqual((await lookup('dns2-p', 'dns2-a1.dns2-n2', GW2)).addresses, []);
    // Still known where it still is.
    assert.deepEqual((await lookup('dns2-c', 'dns2-a1', GW1)).addresses, [await ipOf('dns2-a1', 'dns2-n1')]);
    assert.equal(await dnsServerPid(dnsDir), pid, 'the same resolver process served all of it');
  });

  it('keeps names to their containerd namespace, on a network of the same name in another one', async () => {
    await ok2(['run', '-d', '--name', 'dns2-a1', '--net', 'dns2-n1', 'busybox', 'sleep', '1000']);
    await ok2(['run', '-d', '--name', 'dns2-q', '--net', 'dns2-n1', '--network-alias', 'dns2-svc', 'busybox', 'sleep', '1000']);
    const other = JSON.parse(await ok2(['inspect', 'dns2-a1'])) as {
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
    }[];
    const otherA1 = other[0]!.NetworkSettings.Networks['dns2-n1']!.IPAddress;
    assert.match(otherA1, /^10\.232\.1\./);
    assert.notEqual(otherA1, await ipOf('dns2-a1', 'dns2-n1'));
    // From ns2: its own dns2-a1, and its own dns2-svc only.
    assert.deepEqual((await lookup('dns2-q', 'dns2-a1', GW1, ns2)).addresses, [otherA1]);
    assert.deepEqual((await lookup('dns2-q', 'dns2-svc.dns2-n1', GW1, ns2)).addresses.length, 1);
    // From the first namespace: its own containers only, and both namespaces' networks keep being served.
    assert.deepEqual((await lookup('dns2-c', 'dns2-a1', GW1)).addresses, [await ipOf('dns2-a1', 'dns2-n1')]);
    assert.deepEqual((await lookup('dns2-c', 'dns2-q', GW1)).addresses, []);
    assert.equal((await lookup('dns2-c', 'dns2-svc', GW1)).addresses.length, 2);
    await tsnerd(env, ['--namespace', ns2, 'rm', '-f', 'dns2-a1', 'dns2-q']);
    assert.deepEqual((await lookup('dns2-c', 'dns2-a1', GW1)).addresses, [await ipOf('dns2-a1', 'dns2-n1')]);
  });

  it('gives resolv.conf the gateway unless --dns is given, and network gc restarts a killed resolver', async () => {
    const own = await ok(['run', '--rm', '--net', 'dns2-n1', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.match(own, /^nameserver 10\.232\.1\.1$/m);
    assert.match(own, /^options .*\bndots:0\b/m);
    const given = await ok(['run', '--rm', '--net', 'dns2-n1', '--dns', '10.232.9.53', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.deepEqual(
      given.split('\n').filter((l) => l.startsWith('nameserver')),
      ['nameserver 10.232.9.53'],
    );
    const pid = await dnsServerPid(dnsDir);
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && (await dnsServerPid(dnsDir)) !== undefined; i++) await sleep(50);
    assert.equal(await dnsServerPid(dnsDir), undefined);
    await ok(['network', 'gc']);
    assert.ok(await dnsServerPid(dnsDir), 'network gc started a resolver');
    assert.deepEqual((await lookup('dns2-c', 'dns2-a2', GW1)).addresses, [await ipOf('dns2-a2', 'dns2-n1')]);
  });

  it('survives malformed packets on UDP and TCP and keeps answering', async () => {
    const pid = await dnsServerPid(dnsDir);
    assert.ok(pid);
    const good = dnsPacket.encode({ id: 7, type: 'query', questions: [{ name: 'dns2-a2', type: 'A' }] });
    const header = good.subarray(0, 12);
    const wrongCounts = Buffer.from(good);
    wrongCounts.writeUInt16BE(0xffff, 4);
    wrongCounts.writeUInt16BE(0xffff, 10);
    const cases = [
      Buffer.alloc(0),
      Buffer.from([0xde, 0xad]),
      good.subarray(0, good.length - 2), // truncated
      wrongCounts,
      Buffer.concat([header, Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), // a name pointing at itself
      Buffer.concat([header, Buffer.from([0x01, 0x61, 0xc0, 0x0c, 0, 1, 0, 1])]), // a -> back to the start: a loop
      Buffer.concat([header, Buffer.from([0xc0, 0xff, 0, 1, 0, 1])]), // a pointer past the end
      Buffer.concat([header, Buffer.alloc(400, 0x3f)]), // labels longer than a name may be
      Buffer.concat([good, Buffer.alloc(60_000, 0xab)]), // oversized
    ];
    for (const c of cases) {
      const reply = await udpRaw(GW1, c, 300);
      if (reply) assert.equal(reply.readUInt16BE(2) & 0x8000, 0x8000, 'only responses come back');
    }
    await tcpRaw(GW1, Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(100, 0xee)])); // promises more than it sends
    await tcpRaw(GW1, Buffer.concat([Buffer.from([0x00, 0x14]), Buffer.concat([header, Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0])])]));
    await tcpRaw(GW1, Buffer.alloc(70_000, 0x00)); // many zero-length frames
    assert.equal(await dnsServerPid(dnsDir), pid, 'the same resolver still runs');
    const back = await udpRaw(GW1, good);
    assert.ok(back);
    assert.deepEqual(
      dnsPacket.decode(back).answers?.map((a) => (a as dnsPacket.StringAnswer).data),
      [await ipOf('dns2-a2', 'dns2-n1')],
    );
    assert.deepEqual((await lookup('dns2-c', 'dns2-a2', GW1)).addresses, [await ipOf('dns2-a2', 'dns2-n1')]);
  });
});
