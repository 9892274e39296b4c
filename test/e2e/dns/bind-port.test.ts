/**
 * `dns_bind_port` (Podman's containers.conf option; tsnerd.toml key, `--dns-bind-port`,
 * TSNERD_DNS_BIND_PORT): with another DNS server on the host bound to the wildcard address
 * (`0.0.0.0:53`: dnsmasq's default, BIND; podman#15452), the resolver cannot have the gateways'
 * port 53, and a network's first container fails to start. With the setting the resolver listens
 * on gateway:<port>, and per network tsnerd inserts at the top of nat PREROUTING a DNAT of the
 * gateway's port 53 to it (UDP and TCP, IPv4 and IPv6) and ACCEPT rules for that port in INPUT;
 * they live as the INPUT rules of port 53 do (docs/dns.md): made by the network's first container,
 * put back by network reload, removed by network rm, swept by network gc, undone by a failed start.
 *
 * Everything runs in the network namespace dp-ns of this file's own (containerd, its bridges, the
 * resolver, and the other DNS server on dp-ns's 0.0.0.0:53: no address of the machine's is bound).
 * Env dp-bindport, networks dp-* on 10.242.0.0/16 (IPv6 fd42:242:2::/64, inside dp-ns only),
 * resolver port 44253 (44254 for a change of the setting), published port 44255; env dp-leak on the host for the harness's
 * report, with a rule naming the absent bridge dp-leak0. Forwarded names go to 127.0.0.1 in dp-ns
 * (the store's dns/resolv.conf), where nothing answers: only container names are asked.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as dns from './lookups.ts';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';
import { stopDnsServer } from '../../../src/adapters/dns/process-dns-server.ts';

const NETNS = 'dp-ns';
const PORT = 44253;
const OTHER_PORT = 44254;
/** What the other DNS server of the "host" answers for every name. */
const SQUATTER_IP = '10.242.251.251';
const WILDCARD_SCRIPT = new URL('./wildcard-server.ts', import.meta.url).pathname;
const [NET_A, NET_DS, NET_MOVE, NET_GC] = ['dp-a', 'dp-ds', 'dp-move', 'dp-gc'];
const NETWORKS = [NET_A, NET_DS, NET_MOVE, NET_GC];

let env: TestEnv;
let dnsDir: string;
let squatter: ChildProcess | undefined;
const sh = (cmd: string, args: string[]) => execa(cmd, args, { reject: false });
const bridgeOf = (net: string) => dns.bridgeOf(env, net);
const lookup = (container: string, name: string, server: string) => dns.lookup(env, container, name, server);
const tcpLookup = (container: string, name: string, server: string) => dns.tcpLookup(env, container, name, server);
const inNs = (cmd: string, args: string[]) => sh('nsenter', [`--net=/run/netns/${NETNS}`, '--', cmd, ...args]);
const ok = (args: string[]) => h.ok(env, args);
/** The env with the setting in the environment (TSNERD_DNS_BIND_PORT), as a tsnerd.toml or the flag would give it. */
const withPort = (port = PORT): TestEnv => ({ ...env, env: { ...env.env, TSNERD_DNS_BIND_PORT: String(port) } });

/** tsnerd's DNS rules of `bridge` in dp-ns: INPUT's and nat PREROUTING's, sorted. */
async function dnsRules(bridge: string, tool = 'iptables'): Promise<{ input: string[]; dnat: string[] }> {
  const ours = async (table: string, chain: string) =>
    String((await inNs(tool, ['-w', '-t', table, '-S', chain])).stdout)
      .split('\n')
      .filter((l) => l.includes('--comment tsnerd-dns') && l.includes(` -i ${bridge} `))
      .sort();
  return { input: await ours('filter', 'INPUT'), dnat: await ours('nat', 'PREROUTING') };
}

const inputRules = (subnet: string, gateway: string, bridge: string, port: number, bits = 32) =>
  ['tcp', 'udp'].map(
    (p) =>
      `-A INPUT -s ${subnet} -d ${gateway}/${bits} -i ${bridge} -p ${p} -m ${p} --dport ${port} -m comment --comment tsnerd-dns -j ACCEPT`,
  );
const dnatRules = (gateway: string, bridge: string, port: number, bits = 32) =>
  ['tcp', 'udp'].map(
    (p) =>
      `-A PREROUTING -d ${gateway}/${bits} -i ${bridge} -p ${p} -m ${p} --dport 53 -m comment --comment tsnerd-dns -j DNAT --to-destination ${bits === 128 ? `[${gateway}]` : gateway}:${port}`,
  );

/** The other DNS server: wildcard-server.ts on dp-ns's 0.0.0.0:53 (UDP and TCP), answering every name with SQUATTER_IP. */
async function startSquatter(): Promise<void> {
  const child = spawn('nsenter', [`--net=/run/netns/${NETNS}`, '--', process.execPath, WILDCARD_SCRIPT, '0.0.0.0', SQUATTER_IP], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  squatter = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`wildcard server exited with ${code}`)));
  });
}

async function stopSquatter(): Promise<void> {
  const child = squatter;
  squatter = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

/** The network's entry in dns/records.json (undefined once it has no container). */
async function recordOf(net: string): Promise<{ gateways: string[]; port?: number } | undefined> {
  const text = await readFile(join(dnsDir, 'records.json'), 'utf8').catch(() => '{}');
  const set = JSON.parse(text) as { networks?: Record<string, { gateways: string[]; port?: number }> };
  return Object.entries(set.networks ?? {}).find(([key]) => key.endsWith(`/${net}`))?.[1];
}

/**
 * `base` with iptables, ip6tables and their -restore first in PATH (the hook's too: it inherits the CLI's
 * environment): each call is logged (a restore with its input), and with `refuseDnat` a restore of
 * tsnerd's DNAT rules fails (a host without the nat table, say).
 */
async function wrapIptables(
  t: TestContext,
  base: TestEnv,
  opts: { refuseDnat?: boolean } = {},
): Promise<{ env: TestEnv; log: () => Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dp-wrap-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.log');
  const script = [
    '#!/bin/sh',
    'tool=$(basename "$0")',
    'case "$tool" in',
    '*-restore)',
    '  input=$(cat)',
    `  printf '%s %s\\n%s\\n' "$tool" "$*" "$input" >> '${log}'`,
    opts.refuseDnat ? `  case "$input" in *'*nat'*tsnerd-dns*DNAT*) echo "dp-wrap: nat refused" >&2; exit 1;; esac` : '',
    `  printf '%s\\n' "$input" | exec "/usr/sbin/$tool" "$@";;`,
    'esac',
    `echo "$tool $*" >> '${log}'`,
    'exec "/usr/sbin/$tool" "$@"',
  ].join('\n');
  for (const tool of ['iptables', 'ip6tables', 'iptables-restore', 'ip6tables-restore'])
    await writeFile(join(dir, tool), `${script}\n`, { mode: 0o755 });
  return {
    env: { ...base, env: { ...base.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` } },
    log: () => readFile(log, 'utf8').catch(() => ''),
  };
}

function removeAfter(t: TestContext, containers: string[], networks: string[]): void {
  h.removeAfter(t, env, { containers, networks });
}

describe('dns_bind_port: the resolver on another port, reached through a DNAT of gateway:53 (podman#15452)', { timeout: 600_000 }, () => {
  before(async () => {
    await sh('ip', ['netns', 'del', NETNS]);
    assert.equal((await sh('ip', ['netns', 'add', NETNS])).exitCode, 0);
    await sh('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
    env = await startEnv('dp-bindport', { netns: NETNS });
    await importTestImage(env);
    dnsDir = new StoreLayout(env.dataRoot, env.address).dnsDir();
    await mkdir(dnsDir, { recursive: true });
    await writeFile(join(dnsDir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    await startSquatter();
  });

  after(async () => {
    try {
      await stopSquatter();
      if (env) {
        await h.removeAllContainers(env);
        await tsnerd(env, ['network', 'rm', ...NETWORKS]);
        if (dnsDir) await stopDnsServer(dnsDir);
        await env.stop();
      }
    } finally {
      await sh('ip', ['netns', 'del', NETNS]);
    }
  });

  it('without it the first container fails as before; with it names resolve over UDP and TCP, and rm, network rm take the rules', async (t) => {
    removeAfter(t, ['dp-peer', 'dp-cli', 'dp-late'], [NET_A]);
    await ok(['network', 'create', NET_A, '--subnet', '10.242.1.0/24']);
    const bridge = await bridgeOf(NET_A);
    // As today: port 53 of the gateway is the other server's.
    const refused = await h.failsWithOneLine(env, ['run', '-d', '--name', 'dp-peer', '--net', NET_A, 'busybox', 'sleep', '600']);
    assert.match(refused, /network "dp-a": 10\.242\.1\.1:53 is taken \(udp 0\.0\.0\.0:53 and tcp 0\.0\.0\.0:53 by node \(pid \d+\)\)/);
    assert.match(refused, /set dns_bind_port/);
    assert.deepEqual(await dnsRules(bridge), { input: [], dnat: [] }, 'the refused start made no rule');

    // Before this change: the same refusal (TSNERD_DNS_BIND_PORT was not read; --dns-bind-port was an unknown flag).
    const first = await wrapIptables(t, withPort());
    await h.ok(first.env, ['run', '-d', '--name', 'dp-peer', '--net', NET_A, 'busybox', 'sleep', '600']);
    // The network's first container makes them (an IPv4 network: iptables only): a listing and a restore of INPUT, and of nat PREROUTING.
    const made = await first.log();
    for (const call of ['iptables -w -t filter -S INPUT', 'iptables -w -t nat -S PREROUTING'])
      assert.ok(made.includes(call), `${call}:\n${made}`);
    assert.match(made, /-I PREROUTING 1 -d 10\.242\.1\.1\/32 .*tsnerd-dns -j DNAT --to-destination 10\.242\.1\.1:44253/);
    // A later container of the network runs no iptables for the DNS rules (the hook's fast path), whatever it is given.
    const logged = await wrapIptables(t, env);
    await h.ok(logged.env, ['run', '-d', '--dns-bind-port', String(PORT), '--name', 'dp-cli', '--net', NET_A, 'busybox', 'sleep', '600']);
    const calls = await logged.log();
    assert.ok(calls.includes('iptables-restore'), `the wrappers were used (the firewall's restore):\n${calls}`);
    assert.doesNotMatch(calls, /tsnerd-dns|-S INPUT|-S PREROUTING/, calls);
    const peer = await h.ipOf(env, 'dp-peer', NET_A);
    const udp = await lookup('dp-cli', 'dp-peer', '10.242.1.1');
    assert.deepEqual(udp.addresses, [peer], udp.output);
    assert.deepEqual(await tcpLookup('dp-cli', 'dp-peer', '10.242.1.1'), [peer]);
    assert.deepEqual(await recordOf(NET_A), { gateways: ['10.242.1.1'], internal: false, port: PORT });
    assert.notEqual(
      String((await inNs('ss', ['-Hlnu', 'src', `10.242.1.1:${PORT}`])).stdout).trim(),
      '',
      'the resolver listens on the port',
    );

    const rules = await dnsRules(bridge);
    assert.deepEqual(rules, {
      input: inputRules('10.242.1.0/24', '10.242.1.1', bridge, PORT),
      dnat: dnatRules('10.242.1.1', bridge, PORT),
    });
    // At the top of PREROUTING, before portmap's jump (a container publishing port 53 cannot take the queries).
    await ok([
      'run',
      '-d',
      '--dns-bind-port',
      String(PORT),
      '--name',
      'dp-late',
      '--net',
      NET_A,
      '-p',
      '44255:53/udp',
      'busybox',
      'sleep',
      '600',
    ]);
    const prerouting = String((await inNs('iptables', ['-w', '-t', 'nat', '-S', 'PREROUTING'])).stdout).split('\n');
    const jump = prerouting.findIndex((l) => l.includes('-j CNI-HOSTPORT-DNAT'));
    assert.ok(jump > 0 && rules.dnat.every((r) => prerouting.indexOf(r) < jump), prerouting.join('\n'));
    assert.deepEqual((await lookup('dp-cli', 'dp-late', '10.242.1.1')).addresses, [await h.ipOf(env, 'dp-late', NET_A)]);

    // The rules are the network's: they stay after its last container, as the bridge does; network rm takes them.
    await ok(['rm', '-f', 'dp-peer', 'dp-cli', 'dp-late']);
    assert.deepEqual(await dnsRules(bridge), rules);
    await ok(['network', 'rm', NET_A]);
    assert.deepEqual(await dnsRules(bridge), { input: [], dnat: [] }, 'network rm removed them');
  });

  it('dual stack: the IPv6 gateway too, with ip6tables DNAT and INPUT rules', async (t) => {
    removeAfter(t, ['dp-p6', 'dp-c6'], [NET_DS]);
    await ok(['network', 'create', NET_DS, '--ipv6', '--subnet', 'fd42:242:2::/64', '--subnet', '10.242.2.0/24']);
    const bridge = await bridgeOf(NET_DS);
    await h.ok(withPort(), ['run', '-d', '--name', 'dp-p6', '--net', NET_DS, 'busybox', 'sleep', '600']);
    await h.ok(withPort(), ['run', '-d', '--name', 'dp-c6', '--net', NET_DS, 'busybox', 'sleep', '600']);
    const peer = await h.ipOf(env, 'dp-p6', NET_DS);
    await h.waitFor(
      `the resolver on [fd42:242:2::1]:${PORT}`,
      async () => String((await inNs('ss', ['-Hlnu', 'src', `[fd42:242:2::1]:${PORT}`])).stdout).trim() !== '',
      15_000,
      200,
    );
    for (const server of ['10.242.2.1', 'fd42:242:2::1']) {
      const r = await lookup('dp-c6', 'dp-p6', server);
      assert.deepEqual(r.addresses, [peer], `${server}: ${r.output}`);
    }
    assert.deepEqual(await tcpLookup('dp-c6', 'dp-p6', 'fd42:242:2::1'), [peer]);
    assert.deepEqual(await dnsRules(bridge, 'ip6tables'), {
      input: inputRules('fd42:242:2::/64', 'fd42:242:2::1', bridge, PORT, 128),
      dnat: dnatRules('fd42:242:2::1', bridge, PORT, 128),
    });
    assert.equal((await dnsRules(bridge)).dnat.length, 2);
    await ok(['rm', '-f', 'dp-p6', 'dp-c6']);
    await ok(['network', 'rm', NET_DS]);
    assert.deepEqual(await dnsRules(bridge), { input: [], dnat: [] });
    assert.deepEqual(await dnsRules(bridge, 'ip6tables'), { input: [], dnat: [] });
  });

  it('the setting changed while the network has containers: it keeps its port until its last container; the next first container moves it, and a failed one puts the old rules back', async (t) => {
    removeAfter(t, ['dp-m1', 'dp-m2', 'dp-m3', 'dp-m4'], [NET_MOVE]);
    await ok(['network', 'create', NET_MOVE, '--subnet', '10.242.3.0/24']);
    const bridge = await bridgeOf(NET_MOVE);
    await h.ok(withPort(), ['run', '-d', '--name', 'dp-m1', '--net', NET_MOVE, 'busybox', 'sleep', '600']);
    const first = await dnsRules(bridge);
    // Started without the setting (port 53 is the other server's): it joins the network on the port it has.
    await ok(['run', '-d', '--name', 'dp-m2', '--net', NET_MOVE, 'busybox', 'sleep', '600']);
    assert.deepEqual((await lookup('dp-m2', 'dp-m1', '10.242.3.1')).addresses, [await h.ipOf(env, 'dp-m1', NET_MOVE)]);
    assert.equal((await recordOf(NET_MOVE))?.port, PORT);
    assert.deepEqual(await dnsRules(bridge), first);
    await ok(['rm', '-f', 'dp-m1', 'dp-m2']);

    // The next first container, with another port, fails after its join: the rules are those of before.
    const failing = { ...withPort(OTHER_PORT), env: { ...withPort(OTHER_PORT).env, TSNERD_FAULT: 'fail:hook-joined' } };
    assert.notEqual((await tsnerd(failing, ['run', '-d', '--name', 'dp-m3', '--net', NET_MOVE, 'busybox', 'sleep', '600'])).exitCode, 0);
    assert.deepEqual(await dnsRules(bridge), first, 'the rollback put the old rules back');
    // Now it succeeds: the rules moved to the new port, the old ones are gone.
    await h.ok(withPort(OTHER_PORT), ['run', '-d', '--name', 'dp-m3', '--net', NET_MOVE, 'busybox', 'sleep', '600']);
    await h.ok(withPort(OTHER_PORT), ['run', '-d', '--name', 'dp-m4', '--net', NET_MOVE, 'busybox', 'sleep', '600']);
    assert.deepEqual(await dnsRules(bridge), {
      input: inputRules('10.242.3.0/24', '10.242.3.1', bridge, OTHER_PORT),
      dnat: dnatRules('10.242.3.1', bridge, OTHER_PORT),
    });
    assert.deepEqual((await lookup('dp-m4', 'dp-m3', '10.242.3.1')).addresses, [await h.ipOf(env, 'dp-m3', NET_MOVE)]);
    await ok(['rm', '-f', 'dp-m3', 'dp-m4']);
    await ok(['network', 'rm', NET_MOVE]);
    assert.deepEqual(await dnsRules(bridge), { input: [], dnat: [] });
  });

  it('a DNAT that cannot be made fails the first start with one line and leaves no rule; a hook killed between INPUT and nat leaves what the next start completes', async (t) => {
    removeAfter(t, ['dp-f1', 'dp-f2'], [NET_GC]);
    await ok(['network', 'create', NET_GC, '--subnet', '10.242.4.0/24']);
    const bridge = await bridgeOf(NET_GC);
    const faulty = (fault: string): TestEnv => ({ ...withPort(), env: { ...withPort().env, TSNERD_FAULT: fault } });
    // iptables-restore refuses tsnerd's DNAT (a host without the nat table, say), after INPUT's rules were made:
    // without the DNAT the queries would reach the other server. Before, the start went on (the failure logged).
    const refusing = await wrapIptables(t, withPort(), { refuseDnat: true });
    const r = await tsnerd(refusing.env, ['run', '-d', '--name', 'dp-f1', '--net', NET_GC, 'busybox', 'sleep', '600']);
    assert.notEqual(r.exitCode, 0, 'the start failed');
    assert.match(
      r.stderr.trim(),
      /^tsnerd: cannot serve DNS on network "dp-gc": the rules taking its gateway's port 53 to dns_bind_port 44253 could not be made \(.*nat PREROUTING/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.deepEqual(await dnsRules(bridge), { input: [], dnat: [] }, "the rollback removed INPUT's rules");
    assert.deepEqual(await h.allocations(NET_GC), []);
    assert.equal(await recordOf(NET_GC), undefined);
    assert.doesNotMatch(await ok(['ps', '-a']), /dp-f1/);

    // Killed there: INPUT's rules stay with the bridge (dns/rules.json names it); the next first container makes the DNAT.
    assert.notEqual(
      (await tsnerd(faulty('dns-rules-dnat'), ['run', '-d', '--name', 'dp-f1', '--net', NET_GC, 'busybox', 'sleep', '600'])).exitCode,
      0,
    );
    assert.deepEqual(await dnsRules(bridge), { input: inputRules('10.242.4.0/24', '10.242.4.1', bridge, PORT), dnat: [] });
    await tsnerd(env, ['rm', '-f', 'dp-f1']);
    await h.ok(withPort(), ['run', '-d', '--name', 'dp-f1', '--net', NET_GC, 'busybox', 'sleep', '600']);
    await h.ok(withPort(), ['run', '-d', '--name', 'dp-f2', '--net', NET_GC, 'busybox', 'sleep', '600']);
    assert.deepEqual(await dnsRules(bridge), {
      input: inputRules('10.242.4.0/24', '10.242.4.1', bridge, PORT),
      dnat: dnatRules('10.242.4.1', bridge, PORT),
    });
    assert.deepEqual((await lookup('dp-f2', 'dp-f1', '10.242.4.1')).addresses, [await h.ipOf(env, 'dp-f1', NET_GC)]);
    await ok(['rm', '-f', 'dp-f1', 'dp-f2']);
    await ok(['network', 'rm', NET_GC]);
    assert.deepEqual(await dnsRules(bridge), { input: [], dnat: [] });
  });

  it('network reload puts the DNAT back after a flush; network gc removes the rules of a bridge a killed network rm left', async (t) => {
    removeAfter(t, ['dp-r1', 'dp-r2'], [NET_A, NET_GC]);
    await ok(['network', 'create', NET_A, '--subnet', '10.242.1.0/24']);
    const bridge = await bridgeOf(NET_A);
    await h.ok(withPort(), ['run', '-d', '--name', 'dp-r1', '--net', NET_A, 'busybox', 'sleep', '600']);
    await ok(['run', '-d', '--name', 'dp-r2', '--net', NET_A, 'busybox', 'sleep', '600']);
    const rules = await dnsRules(bridge);
    assert.equal(rules.dnat.length, 2);
    // A flush of these rules (dp-ns's nat PREROUTING holds portmap's jump too, which reload leaves to the plugins).
    for (const rule of rules.dnat)
      assert.equal((await inNs('iptables', ['-w', '-t', 'nat', '-D', ...rule.slice(3).split(' ')])).exitCode, 0);
    assert.deepEqual((await lookup('dp-r2', 'dp-r1', '10.242.1.1')).addresses, [SQUATTER_IP], 'without the DNAT the other server answers');
    await ok(['network', 'reload', '--all']);
    assert.deepEqual(await dnsRules(bridge), rules);
    assert.deepEqual((await lookup('dp-r2', 'dp-r1', '10.242.1.1')).addresses, [await h.ipOf(env, 'dp-r1', NET_A)]);
    await ok(['network', 'reload', '--all']);
    assert.deepEqual(await dnsRules(bridge), rules, 'each rule once');

    // network rm killed once the bridge is gone, before the rules: gc finds them, by the bridge, DNAT included.
    await ok(['network', 'create', NET_GC, '--subnet', '10.242.4.0/24']);
    const gcBridge = await bridgeOf(NET_GC);
    await h.ok(withPort(), ['run', '--rm', '--net', NET_GC, 'busybox', 'true']);
    assert.equal((await dnsRules(gcBridge)).dnat.length, 2);
    const killed = await tsnerd({ ...env, env: { ...env.env, TSNERD_FAULT: 'network-bridge-deleted' } }, ['network', 'rm', NET_GC]);
    assert.notEqual(killed.exitCode, 0);
    assert.equal((await dnsRules(gcBridge)).dnat.length, 2, 'the kill left them');
    assert.match(await ok(['network', 'gc', '--dry-run']), new RegExp(`DNS rules of bridge ${gcBridge}`));
    await ok(['network', 'gc']);
    assert.deepEqual(await dnsRules(gcBridge), { input: [], dnat: [] });
    assert.doesNotMatch(await ok(['network', 'gc', '--dry-run']), /DNS rules/);
  });
});

describe('the harness reports a DNAT rule of dns_bind_port a test leaves', { timeout: 120_000 }, () => {
  it("names the env's bridge's DNAT rule and removes it", async (t) => {
    const e = await startEnv('dp-leak');
    t.after(() => e.stop().catch(() => {}));
    const bridge = 'dp-leak0';
    await writeFile(
      join(e.netconfPath, 'nerdctl-dp-leak.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'dp-leak',
        plugins: [{ type: 'bridge', bridge, ipam: { type: 'host-local', ranges: [[{ subnet: '10.242.9.0/24' }]] } }],
      }),
    );
    assert.equal((await tsnerd(e, ['network', 'ls'])).exitCode, 0); // the harness sees the env's networks after each command
    const rule = dnatRules('10.242.9.1', bridge, PORT)[1]!.slice(3).split(' ');
    assert.equal((await sh('iptables', ['-w', '-t', 'nat', '-I', ...rule])).exitCode, 0);
    t.after(async () => {
      while ((await sh('iptables', ['-w', '-t', 'nat', '-D', ...rule])).exitCode === 0);
    });
    let report: string[] = [];
    try {
      await e.stop();
    } catch (err) {
      assert.ok(err instanceof h.LeftoversError, String(err));
      report = [...err.leftovers];
    }
    assert.deepEqual(report, [`iptables -t nat DNS rule: -A ${rule.join(' ')}`]);
    assert.equal((await sh('iptables', ['-w', '-t', 'nat', '-C', ...rule])).exitCode, 1, 'removed after the report');
  });
});
