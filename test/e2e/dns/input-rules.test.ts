/**
 * Hosts whose INPUT chain drops by default (ufw's policy; podman#23247): the containers' queries
 * to their gateway's port 53 are input to the host, and such a host drops them unless something
 * accepts them first. tsnerd makes, per network with DNS, ACCEPT rules for the network's subnets
 * to its gateways' port 53 (UDP and TCP, IPv4 and IPv6) at the top of INPUT, when the network's
 * first container joins the resolver; they go with the bridge (network rm, network gc) or with
 * the rollback of the start that made them (domain/netfilter/dns-input.ts, docs/dns.md).
 *
 * The drop-by-default host is emulated with a DROP rule for this file's bridges only
 * (`-A INPUT -i <bridge> -j DROP`, appended: after everything else, as a host's own last rule),
 * removed after each test. Env dfw-rules, networks dfw-* on 10.222.0.0/16 (IPv6 fd22:2::/64);
 * env dfw-leak (the harness's report); env dfw-inns in netns dfw-ns, network dfw-n on
 * 10.223.1.0/24. Forwarded names go to 127.0.0.1 (the store's dns/resolv.conf), never off the machine.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import * as dns from './lookups.ts';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';
import { stopDnsServer } from '../../../src/adapters/dns/process-dns-server.ts';

const NET = 'dfw-a';
const NET_DS = 'dfw-ds';
const NET_GC = 'dfw-gc';
const NETWORKS = [NET, NET_DS, NET_GC];

let env: TestEnv;
let dnsDir: string;
const ok = (args: string[]) => h.ok(env, args);
const sh = (cmd: string, args: string[]) => execa(cmd, args, { reject: false });
const bridgeOf = (net: string) => dns.bridgeOf(env, net);
const lookup = (container: string, name: string, server: string) => dns.lookup(env, container, name, server);
const pidOf = (container: string) => dns.pidOf(env, container);
const tcpLookup = (container: string, name: string, server: string) => dns.tcpLookup(env, container, name, server);

/** INPUT's rules of a family (`iptables -S INPUT`), as printed. */
async function input(tool = 'iptables'): Promise<string[]> {
  return String((await sh(tool, ['-w', '-S', 'INPUT'])).stdout)
    .split('\n')
    .filter((l) => l.startsWith('-A INPUT '));
}

/** tsnerd's DNS rules of `bridge` in INPUT. */
async function dnsRules(bridge: string, tool = 'iptables'): Promise<string[]> {
  return (await input(tool)).filter((l) => l.includes('--comment tsnerd-dns') && l.includes(` -i ${bridge} `));
}

/**
 * The host drops what comes in on `bridge` (its last INPUT rule), until the test is over. In
 * ip6tables ICMPv6 passes (neighbour discovery: ufw's before6.rules accept it too).
 */
async function dropInput(t: TestContext, bridge: string, tool = 'iptables'): Promise<void> {
  const rule = ['INPUT', '-i', bridge, ...(tool === 'ip6tables' ? ['!', '-p', 'ipv6-icmp'] : []), '-j', 'DROP'];
  const r = await sh(tool, ['-w', '-A', ...rule]);
  assert.equal(r.exitCode, 0, String(r.stderr));
  t.after(async () => {
    while ((await sh(tool, ['-w', '-D', ...rule])).exitCode === 0);
  });
}

describe('DNS on a host whose INPUT drops by default (podman#23247)', { timeout: 600_000 }, () => {
  before(async () => {
    env = await startEnv('dfw-rules');
    await importTestImage(env);
    dnsDir = new StoreLayout(env.dataRoot, env.address).dnsDir();
    await mkdir(dnsDir, { recursive: true });
    await writeFile(join(dnsDir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  });

  after(async () => {
    if (!env) return;
    await h.removeAllContainers(env);
    await tsnerd(env, ['network', 'rm', ...NETWORKS]);
    if (dnsDir) await stopDnsServer(dnsDir);
    await env.stop();
  });

  it('names resolve over UDP and TCP through the rules at the top of INPUT; network rm takes them', async (t) => {
    h.removeAfter(t, env, { containers: ['dfw-peer', 'dfw-cli'], networks: [NET] });
    await ok(['network', 'create', NET, '--subnet', '10.222.1.0/24']);
    const bridge = await bridgeOf(NET);
    assert.deepEqual(await dnsRules(bridge), [], 'no rules before a container');
    // The host's drop first (its bridge is not there yet: a rule names an interface by its name).
    await dropInput(t, bridge);
    await ok(['run', '-d', '--name', 'dfw-peer', '--net', NET, 'busybox', 'sleep', '600']);
    await ok(['run', '-d', '--name', 'dfw-cli', '--net', NET, 'busybox', 'sleep', '600']);
    const peer = await h.ipOf(env, 'dfw-peer', NET);

    // Before: the query was dropped (nslookup timed out, "no servers could be reached").
    const udp = await lookup('dfw-cli', 'dfw-peer', '10.222.1.1');
    assert.deepEqual(udp.addresses, [peer], udp.output);
    assert.deepEqual(await tcpLookup('dfw-cli', 'dfw-peer', '10.222.1.1'), [peer]);
    // Only port 53 is let in: the host's drop still holds for the rest (the gateway's port 54, say).
    assert.equal(await tcpLookupPort('dfw-cli', '10.222.1.1', 54), 'timeout');

    const rules = await dnsRules(bridge);
    assert.deepEqual(rules.sort(), [
      `-A INPUT -s 10.222.1.0/24 -d 10.222.1.1/32 -i ${bridge} -p tcp -m tcp --dport 53 -m comment --comment tsnerd-dns -j ACCEPT`,
      `-A INPUT -s 10.222.1.0/24 -d 10.222.1.1/32 -i ${bridge} -p udp -m udp --dport 53 -m comment --comment tsnerd-dns -j ACCEPT`,
    ]);
    const all = await input();
    const drop = all.indexOf(`-A INPUT -i ${bridge} -j DROP`);
    assert.ok(
      rules.every((r) => all.indexOf(r) < drop),
      `the rules come before the host's drop:\n${all.join('\n')}`,
    );

    // The rules are the network's: the last container gone, they stay with the bridge (a next first container runs no iptables).
    await ok(['rm', '-f', 'dfw-peer', 'dfw-cli']);
    assert.equal((await dnsRules(bridge)).length, 2);
    await ok(['network', 'rm', NET]);
    assert.deepEqual(await dnsRules(bridge), [], 'network rm removed the rules');
  });

  it('dual stack: the IPv6 gateway too, in ip6tables', async (t) => {
    h.removeAfter(t, env, { containers: ['dfw-p6', 'dfw-c6'], networks: [NET_DS] });
    await ok(['network', 'create', NET_DS, '--ipv6', '--subnet', 'fd22:2::/64', '--subnet', '10.222.2.0/24']);
    const bridge = await bridgeOf(NET_DS);
    await ok(['run', '-d', '--name', 'dfw-p6', '--net', NET_DS, 'busybox', 'sleep', '600']);
    await dropInput(t, bridge);
    await dropInput(t, bridge, 'ip6tables');
    await ok(['run', '-d', '--name', 'dfw-c6', '--net', NET_DS, 'busybox', 'sleep', '600']);
    const peer = await h.ipOf(env, 'dfw-p6', NET_DS);
    // The resolver binds the IPv6 gateway once the bridge's address has left duplicate address detection.
    await h.waitFor(
      'the resolver on [fd22:2::1]:53',
      async () => String((await sh('ss', ['-Hlnu', 'src', '[fd22:2::1]:53'])).stdout).trim() !== '',
      15_000,
      200,
    );
    for (const server of ['10.222.2.1', 'fd22:2::1']) {
      const r = await lookup('dfw-c6', 'dfw-p6', server);
      assert.deepEqual(r.addresses, [peer], `${server}: ${r.output}`);
    }
    assert.deepEqual(await tcpLookup('dfw-c6', 'dfw-p6', 'fd22:2::1'), [peer]);
    assert.equal((await dnsRules(bridge)).length, 2);
    assert.deepEqual((await dnsRules(bridge, 'ip6tables')).sort(), [
      `-A INPUT -s fd22:2::/64 -d fd22:2::1/128 -i ${bridge} -p tcp -m tcp --dport 53 -m comment --comment tsnerd-dns -j ACCEPT`,
      `-A INPUT -s fd22:2::/64 -d fd22:2::1/128 -i ${bridge} -p udp -m udp --dport 53 -m comment --comment tsnerd-dns -j ACCEPT`,
    ]);
    await ok(['rm', '-f', 'dfw-p6', 'dfw-c6']);
    await ok(['network', 'rm', NET_DS]);
    assert.deepEqual([...(await dnsRules(bridge)), ...(await dnsRules(bridge, 'ip6tables'))], []);
  });

  it('a failed first start takes back the rules it made; one that was not the first leaves them', async (t) => {
    h.removeAfter(t, env, { containers: ['dfw-f1', 'dfw-f2', 'dfw-f3'], networks: [NET] });
    await ok(['network', 'create', NET, '--subnet', '10.222.1.0/24']);
    const bridge = await bridgeOf(NET);
    const failing = { ...env, env: { ...env.env, TSNERD_FAULT: 'fail:hook-joined' } };
    const r = await tsnerd(failing, ['run', '-d', '--name', 'dfw-f1', '--net', NET, 'busybox', 'sleep', '600']);
    assert.notEqual(r.exitCode, 0, 'the fault fired');
    assert.deepEqual(await dnsRules(bridge), [], 'the failed start left its rules');
    await ok(['run', '-d', '--name', 'dfw-f2', '--net', NET, 'busybox', 'sleep', '600']);
    assert.equal((await dnsRules(bridge)).length, 2);
    assert.notEqual((await tsnerd(failing, ['run', '-d', '--name', 'dfw-f3', '--net', NET, 'busybox', 'sleep', '600'])).exitCode, 0);
    assert.equal((await dnsRules(bridge)).length, 2, 'dfw-f2 still needs them');
  });

  it('network reload puts them back after a flush; network gc removes those of a bridge that is gone', async (t) => {
    h.removeAfter(t, env, { containers: ['dfw-r1'], networks: [NET, NET_GC] });
    await ok(['network', 'create', NET, '--subnet', '10.222.1.0/24']);
    const bridge = await bridgeOf(NET);
    await ok(['run', '-d', '--name', 'dfw-r1', '--net', NET, 'busybox', 'sleep', '600']);
    const rules = await dnsRules(bridge);
    assert.equal(rules.length, 2);
    // A flush of these rules (only ours: the host's other rules are other tests').
    for (const rule of rules) assert.equal((await sh('iptables', ['-w', '-D', ...rule.slice(3).split(' ')])).exitCode, 0);
    await ok(['rm', '-f', 'dfw-r1']); // the network idle: reload puts back the rules of every network served before
    await ok(['network', 'reload', '--all']);
    assert.deepEqual((await dnsRules(bridge)).sort(), rules.sort());
    await ok(['network', 'reload', '--all']);
    assert.equal((await dnsRules(bridge)).length, 2, 'each rule once');

    // network rm killed once the bridge is gone, before the rules: gc finds them, by the bridge.
    await ok(['network', 'create', NET_GC, '--subnet', '10.222.3.0/24']);
    const gcBridge = await bridgeOf(NET_GC);
    await ok(['run', '--rm', '--net', NET_GC, 'busybox', 'true']);
    assert.equal((await dnsRules(gcBridge)).length, 2);
    const killed = await tsnerd({ ...env, env: { ...env.env, TSNERD_FAULT: 'network-bridge-deleted' } }, ['network', 'rm', NET_GC]);
    assert.notEqual(killed.exitCode, 0);
    assert.equal((await dnsRules(gcBridge)).length, 2, 'the kill left them');
    assert.match(await ok(['network', 'gc', '--dry-run']), new RegExp(`DNS rules of bridge ${gcBridge}`));
    assert.equal((await dnsRules(gcBridge)).length, 2, 'a dry run removes nothing');
    await ok(['network', 'gc']);
    assert.deepEqual(await dnsRules(gcBridge), []);
    assert.doesNotMatch(await ok(['network', 'gc', '--dry-run']), /DNS rules/);
  });
});

/** A TCP connection from the container to server:port: 'connected', or why not ('timeout', 'ECONNREFUSED'). */
async function tcpLookupPort(container: string, server: string, port: number): Promise<string> {
  const pid = await pidOf(container);
  const client = [
    `const s = require('node:net').connect({ host: process.argv[1], port: ${port} });`,
    "s.setTimeout(2000, () => { console.log('timeout'); process.exit(0); });",
    "s.on('error', (e) => { console.log(e.code); process.exit(0); });",
    "s.on('connect', () => { console.log('connected'); process.exit(0); });",
  ].join('\n');
  const r = await sh('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '-e', client, server]);
  return String(r.stdout).trim();
}

describe('the harness reports DNS rules a test leaves', { timeout: 120_000 }, () => {
  it("names the env's bridge's DNS rule, removes it, and leaves another bridge's alone", async (t) => {
    const e = await startEnv('dfw-leak');
    t.after(() => e.stop().catch(() => {}));
    const [mine, other] = ['dfw-leak0', 'dfw-other0'];
    await writeFile(
      join(e.netconfPath, 'nerdctl-dfw-leak.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'dfw-leak',
        plugins: [{ type: 'bridge', bridge: mine, ipam: { type: 'host-local', ranges: [[{ subnet: '10.222.9.0/24' }]] } }],
      }),
    );
    assert.equal((await tsnerd(e, ['network', 'ls'])).exitCode, 0); // the harness sees the env's networks after each command
    const rule = (bridge: string) => [
      'INPUT',
      '-s',
      '10.222.9.0/24',
      '-d',
      '10.222.9.1/32',
      '-i',
      bridge,
      '-p',
      'udp',
      '-m',
      'udp',
      '--dport',
      '53',
      '-m',
      'comment',
      '--comment',
      'tsnerd-dns',
      '-j',
      'ACCEPT',
    ];
    for (const b of [mine, other]) assert.equal((await sh('iptables', ['-w', '-I', ...rule(b)])).exitCode, 0);
    t.after(async () => {
      for (const b of [mine, other]) while ((await sh('iptables', ['-w', '-D', ...rule(b)])).exitCode === 0);
    });
    let report: string[] = [];
    try {
      await e.stop();
    } catch (err) {
      assert.ok(err instanceof h.LeftoversError, String(err));
      report = [...err.leftovers];
    }
    assert.deepEqual(report, [`iptables -t filter DNS rule: -A ${rule(mine).join(' ')}`]);
    assert.deepEqual(await dnsRules(mine), [], 'removed after the report');
    assert.equal((await dnsRules(other)).length, 1, "another env's is left alone");
  });
});

describe('in a network namespace of its own (a test\'s "host"): gc keeps the rules of its live bridge', { timeout: 300_000 }, () => {
  const NETNS = 'dfw-ns';
  let nsEnv: TestEnv | undefined;
  const inNs = (cmd: string, args: string[]) => sh('nsenter', [`--net=/run/netns/${NETNS}`, '--', cmd, ...args]);

  before(async () => {
    await sh('ip', ['netns', 'del', NETNS]);
    assert.equal((await sh('ip', ['netns', 'add', NETNS])).exitCode, 0);
    await sh('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
    nsEnv = await startEnv('dfw-inns', { netns: NETNS });
    await importTestImage(nsEnv);
  });
  after(async () => {
    try {
      if (nsEnv) {
        await h.removeAllContainers(nsEnv);
        await tsnerd(nsEnv, ['network', 'rm', 'dfw-n']);
        await nsEnv.stop();
      }
    } finally {
      await sh('ip', ['netns', 'del', NETNS]);
    }
  });

  it("network gc asks the namespace, not /sys (the mounter's), whether the bridge is gone", async () => {
    const e = nsEnv!;
    await h.ok(e, ['network', 'create', 'dfw-n', '--subnet', '10.223.1.0/24']);
    await h.ok(e, ['run', '-d', '--name', 'dfw-n1', '--net', 'dfw-n', 'busybox', 'sleep', '600']);
    const rules = async () =>
      String((await inNs('iptables', ['-w', '-t', 'filter', '-S'])).stdout)
        .split('\n')
        .filter((l) => l.includes('--comment tsnerd-dns') || l.startsWith('-A CNI-ISOLATION-STAGE'));
    const before = await rules();
    assert.equal(before.filter((l) => l.includes('tsnerd-dns')).length, 2, before.join('\n'));
    // Before: gc listed "isolation and DNS rules of bridge br-…" of the live bridge (its /sys is the host's) and removed them.
    assert.doesNotMatch(await h.ok(e, ['network', 'gc']), /rules of bridge/);
    assert.deepEqual(await rules(), before);
  });
});
