/**
 * The embedded resolver end to end: busybox containers on tsnerd networks ask
 * it with nslookup and ping. Networks dns-* on 10.216.0.0/16; the "outside"
 * resolver is upstream-server.ts in the test's own netns tsn-dns-up, named in
 * the store's dns/resolv.conf, so nothing is forwarded off the machine.
 * Shared aliases (--network-alias, connect --alias), namespaces and malformed
 * packets: aliases.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

import { execa } from 'execa';
import * as dnsPacket from 'dns-packet';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { addressHash } from '../../../src/domain/settings.ts';
import { dnsServerPid, stopDnsServer } from '../../../src/adapters/dns/process-dns-server.ts';

const NODE = process.execPath;
const UPSTREAM_SCRIPT = new URL('./upstream-server.ts', import.meta.url).pathname;
const UPSTREAM_NS = 'tsn-dns-up';
const UPSTREAM_HOST_LINK = 'dns-up0';
const UPSTREAM_IP = '10.216.200.2';

let env: TestEnv;
let dnsDir: string;
let upstream: ChildProcess | undefined;

const ok = (args: string[]) => h.ok(env, args);
const ipOf = (name: string, net: string) => h.ipOf(env, name, net);
/** The addresses busybox nslookup prints for `name` (empty when it finds none). */
const lookup = async (container: string, name: string, server: string, type = 'a') => {
  const r = await tsnerd(env, ['exec', container, 'nslookup', `-type=${type}`, name, server], { timeoutMs: 60_000 });
  const answers = r.stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  return { addresses: [...answers.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]!), output: r.stdout + r.stderr, exitCode: r.exitCode };
};
const sh = (cmd: string, args: string[]) => execa(cmd, args, { reject: false });

/** A query from the host to a resolver address on a bridge this test created. */
function hostQuery(server: string, name: string, transport: 'udp' | 'tcp', edns = true): Promise<dnsPacket.Packet> {
  const query: dnsPacket.Packet = {
    id: 99,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: 'A' }],
    additionals: edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
      : [],
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from ${server} for ${name}`)), 5_000);
    const done = (p: dnsPacket.Packet) => {
      clearTimeout(timer);
      resolve(p);
    };
    if (transport === 'udp') {
      const s = createSocket('udp4');
      s.on('message', (m) => {
        s.close();
        done(dnsPacket.decode(m));
      });
      s.send(dnsPacket.encode(query), 53, server);
      return;
    }
    const sock = connect({ host: server, port: 53 }, () => sock.write(dnsPacket.streamEncode(query)));
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        sock.destroy();
        done(dnsPacket.streamDecode(buf));
      }
    });
    sock.on('error', reject);
  });
}

async function startUpstream(): Promise<void> {
  await sh('ip', ['netns', 'del', UPSTREAM_NS]);
  await sh('ip', ['link', 'del', UPSTREAM_HOST_LINK]);
  for (const args of [
    ['netns', 'add', UPSTREAM_NS],
    ['link', 'add', UPSTREAM_HOST_LINK, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', UPSTREAM_NS],
    ['addr', 'add', '10.216.200.1/30', 'dev', UPSTREAM_HOST_LINK],
    ['link', 'set', UPSTREAM_HOST_LINK, 'up'],
    ['-n', UPSTREAM_NS, 'addr', 'add', `${UPSTREAM_IP}/30`, 'dev', 'eth0'],
    ['-n', UPSTREAM_NS, 'link', 'set', 'eth0', 'up'],
    ['-n', UPSTREAM_NS, 'link', 'set', 'lo', 'up'],
  ]) {
    const r = await sh('ip', args);
    assert.equal(r.exitCode, 0, `ip ${args.join(' ')}: ${r.stderr}`);
  }
  upstream = spawn('ip', ['netns', 'exec', UPSTREAM_NS, NODE, UPSTREAM_SCRIPT, UPSTREAM_IP], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    upstream!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    upstream!.once('exit', (code) => reject(new Error(`upstream exited with ${code}`)));
  });
}

async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) {
      assert.ok(done(v), `${what}: ${JSON.stringify(v)}`);
      return v;
    }
    await sleep(100);
  }
}

describe('embedded DNS resolver (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    env = await startEnv('dns-resolver');
    await importTestImage(env);
    dnsDir = join(env.dataRoot, addressHash(env.address), 'dns');
    await startUpstream();
    // The store's own upstream list: forwarded names go to the netns resolver above, never off the machine.
    await mkdir(dnsDir, { recursive: true });
    await writeFile(join(dnsDir, 'resolv.conf'), `nameserver ${UPSTREAM_IP}\n`);
    await ok(['network', 'create', 'dns-n1', '--subnet', '10.216.1.0/24']);
    await ok(['network', 'create', 'dns-n2', '--subnet', '10.216.2.0/24']);
    await ok(['network', 'create', 'dns-int', '--internal', '--subnet', '10.216.3.0/24']);
    await ok(['network', 'create', 'dns-off', '--disable-dns', '--subnet', '10.216.4.0/24']);
  });

  after(async () => {
    const ids = (await tsnerd(env, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await tsnerd(env, ['rm', '-f', ...ids]);
    await tsnerd(env, ['network', 'rm', 'dns-n1', 'dns-n2', 'dns-int', 'dns-off']);
    if (dnsDir) await stopDnsServer(dnsDir);
    upstream?.kill('SIGKILL');
    await sh('ip', ['netns', 'del', UPSTREAM_NS]);
    await sh('ip', ['link', 'del', UPSTREAM_HOST_LINK]);
    await env.stop();
  });

  it('lets a find b by DNS alone (nslookup at the gateway, ping with /etc/hosts emptied), and not a name of a third network', async () => {
    await ok(['run', '-d', '--name', 'a', '--net', 'dns-n1', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'b', '-h', 'host-b', '--net', 'dns-n1', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'c', '--net', 'dns-n2', 'busybox', 'sleep', '1000']);
    const bIp = await ipOf('b', 'dns-n1');
    assert.match(await ok(['exec', 'a', 'cat', '/etc/resolv.conf']), /^nameserver 10\.216\.1\.1$/m);
    await ok(['exec', 'a', 'sh', '-c', ': > /etc/hosts']);
    assert.deepEqual((await lookup('a', 'b', '10.216.1.1')).addresses, [bIp]);
    assert.deepEqual((await lookup('a', 'host-b', '10.216.1.1')).addresses, [bIp]);
    assert.deepEqual((await lookup('a', 'b.dns-n1', '10.216.1.1')).addresses, [bIp]);
    assert.match(await ok(['exec', 'a', 'ping', '-c1', '-W2', 'b']), new RegExp(`from ${bIp.replaceAll('.', '\\.')}`));
    const c = await lookup('a', 'c', '10.216.1.1');
    assert.deepEqual(c.addresses, [], c.output);
    const cFqdn = await lookup('a', 'c.dns-n2', '10.216.1.1');
    assert.deepEqual(cFqdn.addresses, [], cFqdn.output);
    const ptr = await lookup('a', `${bIp.split('.').reverse().join('.')}.in-addr.arpa`, '10.216.1.1', 'ptr');
    assert.match(ptr.output, /b\.dns-n1/);
    // TCP 53 too (busybox nslookup has no TCP mode).
    assert.deepEqual(
      (await hostQuery('10.216.1.1', 'b', 'tcp')).answers?.map((x) => (x as dnsPacket.StringAnswer).data),
      [bIp],
    );
  });

  it('shows whether DNS is on in network inspect and the names in inspect', async () => {
    const nets = JSON.parse(await ok(['network', 'inspect', 'dns-n1', 'dns-off', 'bridge'])) as { Name: string; DNSEnabled: boolean }[];
    assert.deepEqual(
      nets.map((n) => [n.Name, n.DNSEnabled]),
      [
        ['dns-n1', true],
        ['dns-off', false],
        ['bridge', false],
      ],
    );
    const [info] = JSON.parse(await ok(['inspect', 'b'])) as {
      Id: string;
      NetworkSettings: { Networks: Record<string, { DNSNames: string[] | null }> };
    }[];
    assert.deepEqual(info!.NetworkSettings.Networks['dns-n1']!.DNSNames, ['b', 'host-b', info!.Id.slice(0, 12)]);
  });

  it('serves a name added by run at once and drops it at rm, without a restart', async () => {
    const pid = await dnsServerPid(dnsDir);
    await ok(['run', '-d', '--name', 'd', '--net', 'dns-n1', 'busybox', 'sleep', '1000']);
    const dIp = await ipOf('d', 'dns-n1');
    assert.deepEqual((await lookup('a', 'd', '10.216.1.1')).addresses, [dIp]);
    await ok(['rm', '-f', 'd']);
    const gone = await lookup('a', 'd.dns-n1', '10.216.1.1');
    assert.deepEqual(gone.addresses, []);
    assert.match(gone.output, /NXDOMAIN/);
    assert.equal(await dnsServerPid(dnsDir), pid, 'the same resolver process served all of it');
  });

  it('forwards other names to the upstream resolver (TCP when truncated), and not from an internal network', async () => {
    assert.deepEqual((await lookup('a', 'ext.dns-test', '10.216.1.1')).addresses, ['10.216.250.250']);
    // Truncated by the upstream over UDP: asked again over TCP, passed on whole to a client with a large EDNS size.
    const big = await hostQuery('10.216.1.1', 'big.dns-test', 'udp');
    assert.equal(big.answers?.length, 80);
    // A client without EDNS gets it truncated and asks again over TCP.
    assert.equal(
      ((await hostQuery('10.216.1.1', 'big.dns-test', 'udp', false)).flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE,
      dnsPacket.TRUNCATED_RESPONSE,
    );
    assert.equal((await hostQuery('10.216.1.1', 'big.dns-test', 'tcp')).answers?.length, 80);
    await ok(['run', '-d', '--name', 'i1', '--net', 'dns-int', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'i2', '--net', 'dns-int', 'busybox', 'sleep', '1000']);
    assert.match(await ok(['exec', 'i1', 'cat', '/etc/resolv.conf']), /^nameserver 10\.216\.3\.1$/m);
    const i2Ip = await ipOf('i2', 'dns-int');
    assert.deepEqual((await lookup('i1', 'i2', '10.216.3.1')).addresses, [i2Ip]);
    const ext = await lookup('i1', 'ext.dns-test', '10.216.3.1');
    assert.deepEqual(ext.addresses, [], ext.output);
  });

  it('leaves networks created with --disable-dns to the host servers', async () => {
    await ok(['run', '-d', '--name', 'o1', '--net', 'dns-off', 'busybox', 'sleep', '1000']);
    assert.doesNotMatch(await ok(['exec', 'o1', 'cat', '/etc/resolv.conf']), /10\.216\.4\.1/);
    await ok(['rm', '-f', 'o1']);
  });

  it('comes back after kill -9 with the next run, serving every earlier name', async () => {
    const pid = await dnsServerPid(dnsDir);
    assert.ok(pid, 'a resolver runs');
    process.kill(pid, 'SIGKILL');
    await until(
      'resolver gone',
      () => dnsServerPid(dnsDir),
      (p) => p === undefined,
    );
    await ok(['run', '-d', '--name', 'e', '--net', 'dns-n2', 'busybox', 'sleep', '1000']);
    assert.notEqual(await dnsServerPid(dnsDir), undefined);
    assert.deepEqual((await lookup('a', 'b', '10.216.1.1')).addresses, [await ipOf('b', 'dns-n1')]);
    assert.deepEqual((await lookup('c', 'e', '10.216.2.1')).addresses, [await ipOf('e', 'dns-n2')]);
    assert.deepEqual((await lookup('i1', 'i2', '10.216.3.1')).addresses, [await ipOf('i2', 'dns-int')]);
  });

  it('ends the resolver a few seconds after the last container on a DNS network is gone', async () => {
    const ids = (await tsnerd(env, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    await ok(['rm', '-f', ...ids]);
    await until(
      'resolver stopped',
      () => dnsServerPid(dnsDir),
      (p) => p === undefined,
      15_000, // it lingers 5 s
    );
    const records = JSON.parse(await readFile(join(dnsDir, 'records.json'), 'utf8')) as { endpoints: object };
    assert.deepEqual(records.endpoints, {});
  });
});
