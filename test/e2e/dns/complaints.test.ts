/**
 * What Podman (aardvark-dns) and Docker users complain about in container DNS
 * (docs/dns.md "How it differs"), tried against the embedded resolver:
 * port 53 already taken on the host (podman#15452), a container that runs a
 * DNS server and publishes port 53 (podman#23128, netavark#1470), names on an
 * --internal network (podman#26917), a host search domain whose zone answers
 * every name (podman#26198, aardvark-dns#50), and the host asking the resolver
 * (aardvark-dns#82).
 *
 * Everything runs in network namespaces of this file's own: containerd, its
 * bridges and the resolver in hd-ns (so "the host's port 53" is hd-ns's), the
 * upstream resolver (a wildcard zone, wildcard-server.ts) in hd-up, named in
 * the store's dns/resolv.conf. Env hd-dnsx, networks hd-* on 10.209.0.0/16,
 * upstream link 10.215.200.0/30.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';
import { dnsServerPid, stopDnsServer } from '../../../src/adapters/dns/process-dns-server.ts';

const NODE = process.execPath;
const WILDCARD_SCRIPT = new URL('./wildcard-server.ts', import.meta.url).pathname;
const NETNS = 'hd-ns';
const UPSTREAM_NS = 'hd-up';
const UPSTREAM_LINK = 'hd-up0';
const UPSTREAM_IP = '10.215.200.2';
/** What the upstream's wildcard zone answers for every name (search domain corp.hd-test included). */
const WILDCARD_IP = '10.215.250.250';
/** What the other DNS server on the "host" answers for every name. */
const SQUATTER_IP = '10.215.251.251';
const NETWORKS = ['hd-busy', 'hd-n1', 'hd-int'];

let env: TestEnv;
let dnsDir: string;
const servers: ChildProcess[] = [];

const ok = (args: string[]) => h.ok(env, args);
const ipOf = (name: string, net: string) => h.ipOf(env, name, net);
const sh = (cmd: string, args: string[]) => execa(cmd, args, { reject: false });
const inNs = (cmd: string, args: string[]) => sh('nsenter', [`--net=/run/netns/${NETNS}`, '--', cmd, ...args]);

/** The addresses a busybox nslookup prints for `name` (empty when it finds none). */
function addressesIn(stdout: string): string[] {
  const answers = stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  return [...answers.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]!);
}
const lookup = async (container: string, name: string, server: string) => {
  const r = await tsnerd(env, ['exec', container, 'nslookup', '-type=a', name, server], { timeoutMs: 60_000 });
  return { addresses: addressesIn(r.stdout), output: r.stdout + r.stderr };
};

/** A wildcard-server.ts in `netns` on `address`, answering every name with `answerIp`; resolves once it listens. */
async function startServer(netns: string, address: string, answerIp: string): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', NODE, WILDCARD_SCRIPT, address, answerIp], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  servers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`wildcard server exited with ${code}`)));
  });
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await sh(cmd, args);
  assert.equal(r.exitCode, 0, `${cmd} ${args.join(' ')}: ${String(r.stderr)}`);
}

async function removeNamespaces(): Promise<void> {
  await sh('ip', ['netns', 'del', UPSTREAM_NS]);
  await sh('ip', ['netns', 'del', NETNS]);
}

describe('DNS complaints of Podman and Docker users (e2e)', { timeout: 600_000 }, () => {
  before(async () => {
    await removeNamespaces();
    await must('ip', ['netns', 'add', NETNS]);
    await must('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
    await must('ip', ['netns', 'add', UPSTREAM_NS]);
    await must('ip', ['-n', NETNS, 'link', 'add', UPSTREAM_LINK, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', UPSTREAM_NS]);
    await must('ip', ['-n', NETNS, 'addr', 'add', '10.215.200.1/30', 'dev', UPSTREAM_LINK]);
    await must('ip', ['-n', NETNS, 'link', 'set', UPSTREAM_LINK, 'up']);
    await must('ip', ['-n', UPSTREAM_NS, 'addr', 'add', `${UPSTREAM_IP}/30`, 'dev', 'eth0']);
    await must('ip', ['-n', UPSTREAM_NS, 'link', 'set', 'eth0', 'up']);
    await must('ip', ['-n', UPSTREAM_NS, 'link', 'set', 'lo', 'up']);
    await startServer(UPSTREAM_NS, UPSTREAM_IP, WILDCARD_IP);
    env = await startEnv('hd-dnsx', { netns: NETNS });
    await importTestImage(env);
    dnsDir = new StoreLayout(env.dataRoot, env.address).dnsDir();
    // Forwarded names go to the wildcard zone in hd-up, never off the machine.
    await mkdir(dnsDir, { recursive: true });
    await writeFile(join(dnsDir, 'resolv.conf'), `nameserver ${UPSTREAM_IP}\n`);
    await ok(['network', 'create', 'hd-busy', '--subnet', '10.209.3.0/24']);
    await ok(['network', 'create', 'hd-n1', '--subnet', '10.209.1.0/24']);
    await ok(['network', 'create', 'hd-int', '--internal', '--subnet', '10.209.2.0/24']);
  });

  after(async () => {
    try {
      if (env) {
        await h.removeAllContainers(env);
        await tsnerd(env, ['network', 'rm', ...NETWORKS]);
        if (dnsDir) await stopDnsServer(dnsDir);
        await env.stop();
      }
    } finally {
      for (const s of servers) await stopServer(s);
      await removeNamespaces();
    }
  });

  it('port 53 taken on the host (podman#15452): run fails with one line naming the address and its holder, and leaves nothing', async () => {
    // Nothing of ours may hold a gateway's port 53 when the other server starts (a specific bind blocks the wildcard one).
    await h.removeAllContainers(env);
    await stopDnsServer(dnsDir);
    const squatter = await startServer(NETNS, '0.0.0.0', SQUATTER_IP);
    try {
      // Before: the run succeeded and the containers' queries reached the other server (p2 was 10.215.251.251).
      const line = await h.failsWithOneLine(env, ['run', '-d', '--name', 'p1', '--net', 'hd-busy', 'busybox', 'sleep', '1000']);
      assert.match(line, /network "hd-busy": 10\.209\.3\.1:53 is taken \(udp 0\.0\.0\.0:53 and tcp 0\.0\.0\.0:53 by node \(pid \d+\)\)/);
      assert.match(line, /--disable-dns/);
      assert.equal(await dnsServerPid(dnsDir), undefined, 'no resolver was started for it');
      // The start was undone: no address taken on the network, no records, no container left.
      assert.deepEqual(await h.allocations('hd-busy'), []);
      assert.doesNotMatch(await readFile(join(dnsDir, 'records.json'), 'utf8').catch(() => ''), /p1|hd-busy/);
      assert.doesNotMatch(await ok(['ps', '-a']), /p1/);
      // A network whose DNS is off does not need the port.
      await ok(['network', 'create', 'hd-nodns', '--disable-dns', '--subnet', '10.209.4.0/24']);
      await ok(['run', '-d', '--name', 'p3', '--net', 'hd-nodns', 'busybox', 'sleep', '1000']);
      // network connect to the network whose gateway's port is taken: refused the same way, and undone.
      assert.match(await h.failsWithOneLine(env, ['network', 'connect', 'hd-busy', 'p3']), /network "hd-busy": 10\.209\.3\.1:53 is taken/);
      assert.deepEqual(await h.allocations('hd-busy'), []);
      assert.doesNotMatch(await ok(['exec', 'p3', 'ip', '-o', 'addr']), /10\.209\.3\./);
    } finally {
      await stopServer(squatter);
    }
    try {
      // The other way round from the next test: a container publishing port 53 on every address came first.
      await ok(['run', '-d', '--name', 'p4', '--net', 'hd-nodns', '-p', '53:53/udp', 'busybox', 'sleep', '1000']);
      const line = await h.failsWithOneLine(env, ['run', '-d', '--name', 'p1', '--net', 'hd-busy', 'busybox', 'sleep', '1000']);
      assert.match(
        line,
        /10\.209\.3\.1:53 is taken \(udp 0\.0\.0\.0:53 by tsnerd's port holder, for a container's published port \(pid \d+\)\); publish that port on a host address/,
      );
    } finally {
      await tsnerd(env, ['rm', '-f', 'p1', 'p3', 'p4']);
      await tsnerd(env, ['network', 'rm', 'hd-nodns']);
    }
    // The port free again: the same network serves names.
    await ok(['run', '-d', '--name', 'p1', '--net', 'hd-busy', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'p2', '--net', 'hd-busy', 'busybox', 'sleep', '1000']);
    assert.deepEqual((await lookup('p1', 'p2', '10.209.3.1')).addresses, [await ipOf('p2', 'hd-busy')]);
    await ok(['rm', '-f', 'p1', 'p2']);
  });

  it('a container running a DNS server and publishing port 53 (podman#23128): the others still get names from the resolver, and it does too', async () => {
    await ok(['run', '-d', '--name', 'a', '--net', 'hd-n1', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'b', '--net', 'hd-n1', 'busybox', 'sleep', '1000']);
    // On every address (0.0.0.0): the resolver holds the gateways' port 53, so the host port is taken, as with any other listener.
    assert.match(
      await h.failsWithOneLine(env, [
        'run',
        '-d',
        '--name',
        'dns0',
        '--net',
        'hd-n1',
        '-p',
        '53:53/udp',
        'busybox',
        'nc',
        '-ll',
        '-p',
        '53',
        '-e',
        'cat',
      ]),
      /0\.0\.0\.0:53 failed: port is already allocated/,
    );
    await tsnerd(env, ['rm', '-f', 'dns0']);
    // On a host address of its own (netavark#1470's way out): its published port's DNAT does not take the queries to the gateway.
    // busybox nc has no UDP: a TCP echo stands for the DNS server; the DNAT of UDP 53 is what would catch the others' queries.
    await ok([
      'run',
      '-d',
      '--name',
      'dnsc',
      '--net',
      'hd-n1',
      '-p',
      '10.215.200.1:53:53/udp',
      '-p',
      '10.215.200.1:53:53/tcp',
      'busybox',
      'nc',
      '-ll',
      '-p',
      '53',
      '-e',
      'cat',
    ]);
    assert.deepEqual((await lookup('a', 'b', '10.209.1.1')).addresses, [await ipOf('b', 'hd-n1')]);
    assert.deepEqual((await lookup('dnsc', 'a', '10.209.1.1')).addresses, [await ipOf('a', 'hd-n1')]);
    assert.deepEqual((await lookup('a', 'dnsc', '10.209.1.1')).addresses, [await ipOf('dnsc', 'hd-n1')]);
    // And the published port reaches the container's server from outside (hd-up).
    const echo = await sh('nsenter', [
      `--net=/run/netns/${UPSTREAM_NS}`,
      '--',
      'busybox',
      'sh',
      '-c',
      'echo hello | busybox nc -w 2 10.215.200.1 53',
    ]);
    assert.match(String(echo.stdout), /hello/);
  });

  it('an --internal network answers its names (podman#26917), and forwards nothing', async () => {
    await ok(['run', '-d', '--name', 'i1', '--net', 'hd-int', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'i2', '--net', 'hd-int', 'busybox', 'sleep', '1000']);
    assert.deepEqual((await lookup('i1', 'i2', '10.209.2.1')).addresses, [await ipOf('i2', 'hd-int')]);
    const outside = await lookup('i1', 'web.corp.hd-test', '10.209.2.1');
    assert.deepEqual(outside.addresses, []);
    assert.match(outside.output, /SERVFAIL/);
  });

  it("a search domain whose zone answers every name (podman#26198): a peer's short name is the peer, other names the zone's", async () => {
    await ok(['run', '-d', '--name', 'web', '--net', 'hd-n1', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'q', '--net', 'hd-n1', '--dns-search', 'corp.hd-test', 'busybox', 'sleep', '1000']);
    assert.match(await ok(['exec', 'q', 'cat', '/etc/resolv.conf']), /^search corp\.hd-test\n(.|\n)*options ndots:0$/m);
    await ok(['exec', 'q', 'sh', '-c', ': > /etc/hosts']);
    const webIp = await ipOf('web', 'hd-n1');
    // The C library's resolver (ping): ndots:0 asks "web" as written first, which the resolver answers.
    assert.match(await ok(['exec', 'q', 'ping', '-c1', '-W2', 'web']), new RegExp(`^PING web \\(${webIp.replaceAll('.', '\\.')}\\)`));
    assert.match(String((await tsnerd(env, ['exec', 'q', 'ping', '-c1', '-W1', 'nosuch'])).stdout), /^PING nosuch \(10\.215\.250\.250\)/);
    assert.deepEqual((await lookup('q', 'web', '10.209.1.1')).addresses, [webIp]);
  });

  it('the host asks the gateway for a container (aardvark-dns#82)', async () => {
    const r = await inNs('busybox', ['nslookup', 'web', '10.209.1.1']);
    assert.deepEqual(addressesIn(String(r.stdout)), [await ipOf('web', 'hd-n1')]);
    const fq = await inNs('busybox', ['nslookup', 'web.hd-n1', '10.209.1.1']);
    assert.deepEqual(addressesIn(String(fq.stdout)), [await ipOf('web', 'hd-n1')]);
  });
});
