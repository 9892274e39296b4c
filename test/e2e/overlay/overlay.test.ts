/**
 * Overlay networks across three (then four) hosts, each a network namespace
 * with its own containerd, joined through etcd in flannel's layout (fabric.ts).
 * Overlay subnets within 10.217.0.0/17, underlay 10.217.255.0/24, VNI 1217,
 * VXLAN port 48472, etcd on 42379.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tsnerd } from '../harness.ts';
import { ETCD_URL, Fabric, inNs, ipOf, ok, sh, type Host } from './fabric.ts';

const PREFIX = '/tsnerd-e2e/ovl';
const VNI = 1217;
const DEVICE = `flannel.${VNI}`;
const CREATE_FIRST = [
  '--driver',
  'overlay',
  '--etcd-endpoints',
  ETCD_URL,
  '--subnet',
  '10.217.0.0/17',
  '--subnet-len',
  '24',
  '--vni',
  String(VNI),
  '--port',
  '48472',
  '-o',
  `etcd-prefix=${PREFIX}`,
];
const JOIN = ['--driver', 'overlay', '--etcd-endpoints', ETCD_URL, '-o', `etcd-prefix=${PREFIX}`];
/** httpd whose /cgi-bin/ip answers the client address it sees. */
const HTTPD = [
  'sh',
  '-c',
  'mkdir -p /www/cgi-bin && printf "#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho \\$REMOTE_ADDR\\n" > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 80 -h /www',
];

const fabric = new Fabric('t-ovl');
/** Set by the first test, used by the later ones (the file runs its tests in order, on one fabric). */
const ips: Record<string, string> = {};

interface OverlayInspect {
  Driver: string;
  Scope: string;
  IPAM: { Config: { Subnet: string; Gateway?: string }[] };
  Overlay: {
    Lease?: { Subnet: string; PublicIP: string; VtepMAC: string };
    Peers?: { Subnet: string }[];
    AgentPid?: number;
    Config?: unknown;
    MTU?: number;
  };
}

async function inspectNet(h: Host, name: string): Promise<OverlayInspect> {
  return (JSON.parse(await ok(h, ['network', 'inspect', name])) as OverlayInspect[])[0]!;
}

async function leases(): Promise<Record<string, unknown>> {
  const r = await fabric.etcdctl(['get', '--prefix', `${PREFIX}/subnets/`, '-w', 'json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const kvs = (JSON.parse(r.stdout) as { kvs?: { key: string; value: string }[] }).kvs ?? [];
  const dec = (b: string) => Buffer.from(b, 'base64').toString();
  return Object.fromEntries(kvs.map((kv) => [dec(kv.key), JSON.parse(dec(kv.value)) as unknown]));
}

/** Retries until fn passes (convergence through the etcd watch). */
async function eventually(what: string, fn: () => Promise<void>, timeoutMs = 20_000): Promise<number> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      await fn();
      return Date.now() - start;
    } catch (err) {
      last = err;
      await sleep(200);
    }
  }
  throw new Error(`${what}: not within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

async function ping(from: Host, container: string, ip: string): Promise<void> {
  const r = await tsnerd(from.env, ['exec', container, 'ping', '-c1', '-W2', ip], { timeoutMs: 20_000 });
  assert.equal(r.exitCode, 0, `[${from.letter}] ping ${ip}: ${r.stdout}${r.stderr}`);
}

async function fetchSource(from: Host, container: string, ip: string): Promise<string> {
  // busybox-static's wget crashes in the test image; nc speaks the HTTP/1.0 request itself.
  const request = `printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 80`;
  const r = await tsnerd(from.env, ['exec', container, 'sh', '-c', request], { timeoutMs: 20_000 });
  assert.equal(r.exitCode, 0, `[${from.letter}] http ${ip}: ${r.stderr}`);
  assert.match(r.stdout, /^HTTP\/1\.[01] 200/);
  // busybox httpd listens on IPv6 too and shows IPv4 peers as [::ffff:a.b.c.d].
  return r.stdout
    .split(/\r?\n\r?\n/)
    .slice(1)
    .join('')
    .trim()
    .replace(/^\[::ffff:(.*)\]$/, '$1');
}

describe('overlay network across hosts (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    await fabric.start();
    await Promise.all([fabric.addHost('a', 1), fabric.addHost('b', 2), fabric.addHost('c', 3)]);
  });
  after(() => fabric.stop());

  it('gives each host a distinct subnet; containers reach each other by IP and keep their source address', async () => {
    const [a, b, c] = [fabric.host('a'), fabric.host('b'), fabric.host('c')];
    await ok(a, ['network', 'create', 'ovl-net', ...CREATE_FIRST]);
    await ok(b, ['network', 'create', 'ovl-net', ...JOIN]);
    await ok(c, ['network', 'create', 'ovl-net', ...JOIN]);
    const config = await fabric.etcdctl(['get', '--print-value-only', `${PREFIX}/config`]);
    assert.deepEqual(JSON.parse(config.stdout), { Network: '10.217.0.0/17', SubnetLen: 24, Backend: { Type: 'vxlan', VNI, Port: 48472 } });

    const views = await Promise.all([a, b, c].map((h) => inspectNet(h, 'ovl-net')));
    const subnets = views.map((v) => v.Overlay.Lease!.Subnet);
    assert.equal(new Set(subnets).size, 3, `distinct subnets: ${subnets.join(' ')}`);
    for (const [i, v] of views.entries()) {
      assert.equal(v.Driver, 'overlay');
      assert.equal(v.IPAM.Config[0]!.Subnet, subnets[i]);
      assert.equal(v.Overlay.MTU, 1450);
      assert.ok(v.Overlay.AgentPid! > 0);
    }
    const stored = await leases();
    assert.equal(Object.keys(stored).length, 3);
    for (const [i, h] of [a, b, c].entries()) {
      const lease = stored[`${PREFIX}/subnets/${subnets[i]!.replace('/', '-')}`] as {
        PublicIP: string;
        BackendType: string;
        BackendData: { VtepMAC: string };
      };
      assert.equal(lease.PublicIP, h.ip);
      assert.equal(lease.BackendType, 'vxlan');
      assert.equal(lease.BackendData.VtepMAC, views[i]!.Overlay.Lease!.VtepMAC);
    }

    await ok(b, ['run', '-d', '--name', 'web-b', '--net', 'ovl-net', 'busybox', ...HTTPD]);
    await ok(c, ['run', '-d', '--name', 'web-c', '--net', 'ovl-net', 'busybox', ...HTTPD]);
    await ok(a, ['run', '-d', '--name', 'cli-a', '--net', 'ovl-net', 'busybox', 'sleep', '100000']);
    const [ipB, ipC, ipA] = [await ipOf(b, 'web-b'), await ipOf(c, 'web-c'), await ipOf(a, 'cli-a')];
    Object.assign(ips, { b: ipB, c: ipC, a: ipA });
    for (const [ip, view] of [
      [ipB, views[1]!],
      [ipC, views[2]!],
      [ipA, views[0]!],
    ] as const) {
      assert.ok(ip.startsWith(view.Overlay.Lease!.Subnet.split('.').slice(0, 3).join('.')), `${ip} in ${view.Overlay.Lease!.Subnet}`);
    }
    assert.match(await ok(a, ['exec', 'cli-a', 'ip', 'link', 'show', 'eth0']), /mtu 1450/);
    for (const ip of [ipB, ipC]) {
      await eventually(`ping ${ip} from A`, () => ping(a, 'cli-a', ip));
      assert.equal(await fetchSource(a, 'cli-a', ip), ipA, 'the receiver sees the sender container address');
    }
  });

  it('after kill -9 of the agent, traffic goes on and the agent comes back with the same lease', async () => {
    const a = fabric.host('a');
    const before = await inspectNet(a, 'ovl-net');
    const keys = Object.keys(await leases()).sort();
    process.kill(before.Overlay.AgentPid!, 'SIGKILL');
    await ping(a, 'cli-a', ips['b']!); // the kernel's paths do not need the agent
    // Its supervisor starts the agent again (agent-supervise.test.ts), or the hook for the next container, whichever comes first.
    await ok(a, ['run', '-d', '--name', 'cli-a2', '--net', 'ovl-net', 'busybox', 'sleep', '100000']);
    const after = await inspectNet(a, 'ovl-net');
    assert.ok(after.Overlay.AgentPid! > 0 && after.Overlay.AgentPid !== before.Overlay.AgentPid, 'a new agent runs');
    assert.equal(after.Overlay.Lease!.Subnet, before.Overlay.Lease!.Subnet);
    assert.deepEqual(Object.keys(await leases()).sort(), keys, 'the same leases in etcd');
    const ipA2 = await ipOf(a, 'cli-a2');
    await ping(a, 'cli-a2', ips['c']!);
    assert.equal(await fetchSource(a, 'cli-a2', ips['b']!), ipA2);
    await ok(a, ['rm', '-f', 'cli-a2']);
  });

  it('keeps established paths through an etcd outage; a host added meanwhile joins after', async () => {
    const a = fabric.host('a');
    const agentPid = (await inspectNet(a, 'ovl-net')).Overlay.AgentPid;
    await fabric.stopEtcd();
    await ping(a, 'cli-a', ips['b']!);
    const d = await fabric.addHost('d', 4);
    const creating = tsnerd(d.env, ['network', 'create', 'ovl-net', ...JOIN, '--etcd-timeout', '90'], { timeoutMs: 120_000 });
    await sleep(2_000);
    await ping(a, 'cli-a', ips['c']!);
    await fabric.startEtcd();
    const created = await creating;
    assert.equal(created.exitCode, 0, created.stderr);
    await ok(d, ['run', '-d', '--name', 'web-d', '--net', 'ovl-net', 'busybox', ...HTTPD]);
    ips['d'] = await ipOf(d, 'web-d');
    await eventually('A reaches D', () => ping(a, 'cli-a', ips['d']!));
    assert.equal(await fetchSource(a, 'cli-a', ips['d']!), ips['a']);
    assert.equal((await inspectNet(a, 'ovl-net')).Overlay.AgentPid, agentPid, "A's agent rode the outage out");
  });

  it('interoperates with a host set up the way flanneld sets up its vxlan backend', async () => {
    // Host E: no tsnerd, no containerd; flannel.1217 and the lease made by hand as flanneld makes them.
    const a = fabric.host('a');
    const e = await fabric.addBareHost('e', 5);
    const mac = '02:42:0a:d9:63:0e';
    const ipE = (args: string[]) => inNs(e.netns, 'ip', args);
    const must = async (p: Promise<{ exitCode: number; stderr: string }>) => assert.equal((await p).exitCode, 0, (await p).stderr);
    // E's /24 is one no host leased: the hosts lease random subnets of the /17, and E's VTEP
    // address on a host's own subnet would make that host's lease unroutable from E.
    const leased = new Set(Object.keys(await leases()).map((k) => k.slice(k.lastIndexOf('/') + 1)));
    const third = [...Array(127).keys()].map((n) => ((98 + n) % 127) + 1).find((n) => !leased.has(`10.217.${n}.0-24`))!;
    const net = `10.217.${third}`;
    await must(
      ipE(['link', 'add', DEVICE, 'type', 'vxlan', 'id', String(VNI), 'local', e.ip, 'dev', e.link, 'dstport', '48472', 'nolearning']),
    );
    await must(ipE(['link', 'set', DEVICE, 'address', mac, 'mtu', '1450', 'up']));
    await must(ipE(['addr', 'add', `${net}.0/32`, 'dev', DEVICE]));
    // A container's address on E (its bridge would hold .1): the kernel here has no dummy links.
    await must(ipE(['addr', 'add', `${net}.1/32`, 'dev', 'lo']));
    const key = `${PREFIX}/subnets/${net}.0-24`;
    const value = { PublicIP: e.ip, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI, VtepMAC: mac } };
    assert.equal((await fabric.etcdctl(['put', key, JSON.stringify(value)])).exitCode, 0);
    // What flanneld programs for a peer from its lease: route via the VTEP address, neighbour, FDB.
    const lease = (await inspectNet(a, 'ovl-net')).Overlay.Lease!;
    const vtepA = lease.Subnet.split('/')[0]!;
    await must(ipE(['neigh', 'replace', vtepA, 'lladdr', lease.VtepMAC, 'dev', DEVICE, 'nud', 'permanent']));
    await must(inNs(e.netns, 'bridge', ['fdb', 'append', lease.VtepMAC, 'dev', DEVICE, 'dst', lease.PublicIP, 'self', 'permanent']));
    await must(ipE(['route', 'replace', lease.Subnet, 'via', vtepA, 'dev', DEVICE, 'onlink']));

    await eventually('A reaches the flannel-style host', () => ping(a, 'cli-a', `${net}.1`));
    const peers = (await inspectNet(a, 'ovl-net')).Overlay.Peers!.map((p) => p.Subnet);
    assert.ok(peers.includes(`${net}.0/24`), peers.join(' '));
    assert.equal((await fabric.etcdctl(['del', key])).exitCode, 0);
    await eventually('A drops the flannel-style host', async () => {
      const routes = await inNs(a.netns, 'ip', ['-j', 'route', 'show', 'dev', DEVICE]);
      assert.ok(!routes.stdout.includes(`${net}.0/24`), routes.stdout);
    });
    await sh('ip', ['netns', 'del', e.netns]);
  });

  it("after a flush of host A's firewall, its agent puts the overlay's rules back and network reload the containers': the same rules as before", async () => {
    const a = fabric.host('a');
    const rules = async () => {
      const out: string[] = [];
      for (const table of ['nat', 'filter']) {
        const listed = await inNs(a.netns, 'iptables', ['-w', '-t', table, '-S']);
        assert.equal(listed.exitCode, 0, listed.stderr);
        out.push(...listed.stdout.split('\n').map((l) => `${table} ${l}`));
      }
      return out.sort();
    };
    const before = await rules();
    assert.ok(
      before.some((r) => r.includes(`TSNERD-OVL-POST-${VNI}`)),
      before.join('\n'),
    );
    // What a firewall service's reload does to a host: every rule and chain of ours and the plugins' gone.
    for (const table of ['nat', 'filter']) for (const op of ['-F', '-X']) await inNs(a.netns, 'iptables', ['-w', '-t', table, op]);
    assert.ok(!(await rules()).some((r) => r.includes('TSNERD-OVL') || r.includes('CNI-')), 'flushed');
    await eventually(
      "the agent's resync puts the overlay's rules back",
      async () =>
        assert.ok((await rules()).some((r) => r.includes(`-A POSTROUTING -s ${ips['a']!.split('.').slice(0, 3).join('.')}.0/24`))),
      15_000,
    );
    assert.equal(await ok(a, ['network', 'reload', '--all']), (JSON.parse(await ok(a, ['inspect', 'cli-a'])) as { Id: string }[])[0]!.Id);
    assert.deepEqual(await rules(), before);
    await ping(a, 'cli-a', ips['b']!);
    assert.equal(await fetchSource(a, 'cli-a', ips['b']!), ips['a']);
  });

  it('network rm on host C gives its lease back, the others drop their paths to C, nothing is left on C', async () => {
    const c = fabric.host('c');
    const subnet = (await inspectNet(c, 'ovl-net')).Overlay.Lease!.Subnet;
    const id = JSON.parse(await ok(c, ['network', 'inspect', 'ovl-net', '--format', '{{json .Id}}'])) as string;
    await ok(c, ['rm', '-f', 'web-c']);
    await ok(c, ['network', 'rm', 'ovl-net']);
    assert.ok(!(`${PREFIX}/subnets/${subnet.replace('/', '-')}` in (await leases())), 'the lease is gone from etcd');
    for (const h of [...fabric.hosts.values()].filter((x) => x.letter !== 'c')) {
      await eventually(`${h.letter} drops C`, async () => {
        const routes = await inNs(h.netns, 'ip', ['-j', 'route', 'show', 'dev', DEVICE]);
        assert.ok(!routes.stdout.includes(subnet), `[${h.letter}] routes: ${routes.stdout}`);
        const fdb = await inNs(h.netns, 'bridge', ['-j', 'fdb', 'show', 'dev', DEVICE]);
        assert.ok(!fdb.stdout.includes(`"${c.ip}"`), `[${h.letter}] fdb: ${fdb.stdout}`);
      });
    }
    await assertNothingOnHost(c, id);
  });

  it('refuses bad input with one line and leaves nothing behind', async () => {
    const c = fabric.host('c');
    const refused = async (args: string[], pattern: RegExp) => {
      const r = await tsnerd(c.env, ['network', 'create', 'ovl-bad', '--driver', 'overlay', ...args], { timeoutMs: 60_000 });
      assert.equal(r.exitCode, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
      await assertNothingOnHost(c, undefined);
    };
    // unreachable etcd
    await refused(
      ['--etcd-endpoints', 'http://10.217.255.1:42399', '--subnet', '10.217.0.0/17', '--etcd-timeout', '1'],
      /etcd at http:\/\/10\.217\.255\.1:42399 is unreachable/,
    );
    // a config that is not flannel's
    assert.equal((await fabric.etcdctl(['put', '/tsnerd-e2e/bad/config', 'not json'])).exitCode, 0);
    await refused(
      ['--etcd-endpoints', ETCD_URL, '-o', 'etcd-prefix=/tsnerd-e2e/bad'],
      /\/tsnerd-e2e\/bad\/config in etcd is not a flannel network config/,
    );
    assert.equal(
      (await fabric.etcdctl(['put', '/tsnerd-e2e/bad/config', '{"Network":"10.217.0.0/17","Backend":{"Type":"udp"}}'])).exitCode,
      0,
    );
    await refused(['--etcd-endpoints', ETCD_URL, '-o', 'etcd-prefix=/tsnerd-e2e/bad'], /backend "udp" is not supported/);
    // overlapping a local network: the config this attempt wrote is taken back
    await ok(c, ['network', 'create', 'ovl-local', '--subnet', '10.217.130.0/24']);
    await refused(
      ['--etcd-endpoints', ETCD_URL, '--subnet', '10.217.128.0/18', '-o', 'etcd-prefix=/tsnerd-e2e/overlap'],
      /overlay subnet 10\.217\.128\.0\/18 overlaps 10\.217\.130\.0\/24 of network ovl-local/,
    );
    assert.equal((await fabric.etcdctl(['get', '--prefix', '/tsnerd-e2e/overlap'])).stdout, '');
    await ok(c, ['network', 'rm', 'ovl-local']);
    // a subnet too small for the hosts: its one /24 is leased to another host
    const small = [
      '--etcd-endpoints',
      ETCD_URL,
      '--subnet',
      '10.217.200.0/23',
      '--subnet-len',
      '24',
      '--vni',
      String(VNI),
      '-o',
      'etcd-prefix=/tsnerd-e2e/small',
    ];
    assert.equal(
      (
        await fabric.etcdctl([
          'put',
          '/tsnerd-e2e/small/config',
          '{"Network":"10.217.200.0/23","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1217}}',
        ])
      ).exitCode,
      0,
    );
    assert.equal(
      (
        await fabric.etcdctl([
          'put',
          '/tsnerd-e2e/small/subnets/10.217.201.0-24',
          '{"PublicIP":"10.217.255.99","BackendType":"vxlan","BackendData":{"VNI":1217,"VtepMAC":"02:00:00:00:00:99"}}',
        ])
      ).exitCode,
      0,
    );
    await refused(small, /no free subnet in overlay 10\.217\.200\.0\/23: all 1 \/24 subnet is leased to other hosts/);
    assert.deepEqual(
      Object.keys(JSON.parse((await fabric.etcdctl(['get', '--prefix', '/tsnerd-e2e/small/subnets/', '-w', 'json'])).stdout).kvs ?? [])
        .length,
      1,
    );
  });

  it('network rm --force on the last host also deletes the config in etcd', async () => {
    const rest = [...fabric.hosts.values()].filter((h) => h.letter !== 'c');
    for (const [i, h] of rest.entries()) {
      const ids = (await ok(h, ['ps', '-aq'])).split('\n').filter(Boolean);
      if (ids.length > 0) await ok(h, ['rm', '-f', ...ids]);
      const r = await tsnerd(h.env, ['network', 'rm', '-f', 'ovl-net', 'ovl-gone']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'ovl-net', 'a missing network is no error with --force');
      const config = await fabric.etcdctl(['get', '--print-value-only', `${PREFIX}/config`]);
      if (i < rest.length - 1) {
        assert.notEqual(config.stdout.trim(), '', 'kept while other hosts hold leases');
        assert.match(r.stderr, /the config stays in etcd: \d other host\(s\) still hold a lease/);
      } else {
        assert.equal(config.stdout.trim(), '', 'the last host deleted it');
      }
    }
    assert.deepEqual(await leases(), {});
  });
});

/** No conflist, state, agent, device, bridge or rule of an overlay on the host. */
async function assertNothingOnHost(h: Host, id: string | undefined): Promise<void> {
  const names = await ok(h, ['network', 'ls', '--format', '{{.Name}}']);
  assert.ok(!/^ovl-(net|bad)$/m.test(names), `networks: ${names}`);
  for (const name of ['ovl-net', 'ovl-bad'])
    assert.ok(!existsSync(join(h.env.dataRoot, 'overlay', h.env.namespace, name)), `state of ${name}`);
  assert.notEqual((await inNs(h.netns, 'ip', ['link', 'show', 'dev', DEVICE])).exitCode, 0, `${DEVICE} is gone`);
  if (id !== undefined)
    assert.notEqual((await inNs(h.netns, 'ip', ['link', 'show', 'dev', `br-${id.slice(0, 12)}`])).exitCode, 0, 'bridge is gone');
  for (const table of ['nat', 'filter']) {
    const rules = await inNs(h.netns, 'iptables', ['-w', '-t', table, '-S']);
    assert.ok(!rules.stdout.includes('TSNERD-OVL'), `${table}: ${rules.stdout}`);
  }
  const ps = await sh('pgrep', ['-f', `overlay-agent/main.* ${h.env.dataRoot}`]);
  assert.equal(ps.stdout.trim(), '', 'no agent runs');
}
