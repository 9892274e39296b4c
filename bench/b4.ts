/**
 * B4: C detached containers started at once, tsnerd vs podman; wall time until all are up. Two
 * pairings, each with its own ratio: both tools on their default network (`--net bridge`: no name
 * resolver on either side), and both on a user network with DNS (tsnerd's resolver against
 * aardvark-dns, which podman starts for a network created with DNS, as Docker and podman users
 * get on user networks). The earlier B4 put tsnerd on a user network with its resolver against
 * podman's default network without aardvark-dns.
 * The note gives the machine's CPU time (all processes, /proc/stat) per container and its idle share
 * during those rounds: on 2 cores, a tool that leaves no CPU idle is bound by the CPU it spends.
 */
import { readFile } from 'node:fs/promises';
import type { BenchEnv } from './env.ts';
import type { BenchConfig } from './config.ts';
import type { Results } from './results.ts';
import { firstLine, lines, type Timed } from './proc.ts';

/** tsnerd's user network (its bridge goes with `network rm`). */
const CONC_NET = 'tsbench-conc';
/** podman's user network, in the bench's private podman config. */
const PODMAN_NET = 'tsbench-pconc';
const PODMAN_SUBNET = '10.210.8.0/24';

export async function benchB4(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  const ulimits = await env.podman.ulimitFlags();
  const label = (what: string, tool: string) => `B4 ${cfg.concurrency} concurrent run -d, ${what}, ${tool} (wall)`;

  // 1. default networks, no DNS on either side
  const bridge = 'default network (--net bridge, no DNS)';
  await rounds(cfg, results, 'b4.bridge.tsnerd', label(bridge, 'tsnerd'), (round) => tsnerdRound(env, cfg, `bb${round}x`, 'bridge'));
  await rounds(cfg, results, 'b4.bridge.podman', label(bridge, 'podman'), (round) =>
    podmanRound(env, cfg, ulimits, `pb${round}x`, 'bridge'),
  );

  // 2. user networks with DNS: tsnerd's resolver, podman's aardvark-dns
  const tsDns = "user network with DNS (tsnerd's resolver)";
  const created = await env.tsnerd(['network', 'create', env.ownNetwork(CONC_NET), '--subnet', '10.210.7.0/24']);
  if (created.exitCode !== 0) results.fail('b4.dns.tsnerd', label(tsDns, 'tsnerd'), `network create: ${firstLine(created.stderr)}`);
  else await rounds(cfg, results, 'b4.dns.tsnerd', label(tsDns, 'tsnerd'), (round) => tsnerdRound(env, cfg, `bc${round}x`, CONC_NET));
  await env.tsnerd(['network', 'rm', CONC_NET]); // and with it its bridge

  const pmDns = 'user network with DNS (aardvark-dns)';
  // podman 4.3 names the bridge itself (the next free podmanN): read back, to check and remove it
  let bridgeName = '';
  try {
    const pcreated = await env.podman.run(['network', 'create', '--subnet', PODMAN_SUBNET, PODMAN_NET]);
    const inspect = await env.podman.run(['network', 'inspect', '--format', '{{.NetworkInterface}} {{.DNSEnabled}}', PODMAN_NET]);
    const [iface = '', dns = ''] = inspect.stdout.trim().split(' ');
    bridgeName = iface;
    if (pcreated.exitCode !== 0) results.fail('b4.dns.podman', label(pmDns, 'podman'), `network create: ${firstLine(pcreated.stderr)}`);
    else if (dns !== 'true') results.fail('b4.dns.podman', label(pmDns, 'podman'), `network ${PODMAN_NET}: DNS enabled is "${dns}"`);
    else
      await rounds(cfg, results, 'b4.dns.podman', label(pmDns, 'podman'), (round) =>
        podmanRound(env, cfg, ulimits, `pc${round}x`, PODMAN_NET, async () => {
          if (!(await env.podman.aardvarkServes(PODMAN_NET))) throw new Error(`no aardvark-dns serves ${PODMAN_NET}`);
        }),
      );
  } finally {
    // the last container's teardown takes the bridge and aardvark-dns; the network's config goes here
    await env.podman.run(['network', 'rm', '-f', PODMAN_NET], { timeoutMs: 600_000 });
    if (bridgeName && (await env.linkExists(bridgeName))) await env.deleteLink(bridgeName);
  }
}

/** One round of tsnerd: `names` started at once on `net`, removed after. */
async function tsnerdRound(env: BenchEnv, cfg: BenchConfig, prefix: string, net: string): Promise<Wall> {
  const names = Array.from({ length: cfg.concurrency }, (_, i) => `${prefix}${i}`);
  try {
    return await wall(names.map((n) => () => env.tsnerd(['run', '-d', '--net', net, '--name', n, 'busybox', 'sleep', '3600'])));
  } finally {
    await env.tsnerd(['rm', '-f', ...names], { timeoutMs: 600_000 });
  }
}

/** One round of podman, the same; `check` runs while they are up. */
async function podmanRound(
  env: BenchEnv,
  cfg: BenchConfig,
  ulimits: string[],
  prefix: string,
  net: string,
  check?: () => Promise<void>,
): Promise<Wall> {
  const names = Array.from({ length: cfg.concurrency }, (_, i) => `${prefix}${i}`);
  try {
    const t = await wall(
      names.map((n) => () => env.podman.run(['run', '-d', ...ulimits, '--network', net, '--name', n, 'busybox', 'sleep', '3600'])),
    );
    await check?.();
    return t;
  } finally {
    await env.podman.run(['rm', '-f', '-t', '0', ...names], { timeoutMs: 600_000 });
  }
}

async function rounds(
  cfg: BenchConfig,
  results: Results,
  key: string,
  label: string,
  once: (round: number) => Promise<Wall>,
): Promise<void> {
  const sample: { key: string; label: string; unit: 'ms'; values: number[]; note?: string } = { key, label, unit: 'ms', values: [] };
  results.add(sample);
  let busy = 0;
  let idle = 0;
  try {
    for (let r = 0; r < cfg.warmup + cfg.concurrencyRounds; r++) {
      const t = await once(r);
      if (r < cfg.warmup) continue;
      sample.values.push(t.ms);
      busy += t.busy;
      idle += t.idle;
    }
  } catch (e) {
    results.fail(key, label, e);
  }
  // USER_HZ is 100 on Linux: a tick is 10 ms.
  const containers = cfg.concurrency * sample.values.length;
  if (containers > 0 && busy + idle > 0)
    sample.note = `machine CPU ${((busy * 10) / containers).toFixed(0)} ms per container, ${((100 * idle) / (busy + idle)).toFixed(0)} % idle`;
}

/** Busy and idle ticks of all CPUs since boot (the first line of /proc/stat). */
async function cpuTicks(): Promise<{ busy: number; idle: number }> {
  const f = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idleT = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq + steal, idle: idleT + iowait };
}

interface Wall {
  ms: number;
  /** CPU ticks of the whole machine meanwhile. */
  busy: number;
  idle: number;
}

/** Starts every command at once; throws with the first failure's stderr once all have ended. */
async function wall(cmds: (() => Promise<Timed>)[]): Promise<Wall> {
  const before = await cpuTicks();
  const start = performance.now();
  const done = await Promise.all(cmds.map((c) => c()));
  const ms = performance.now() - start;
  const after = await cpuTicks();
  const bad = done.filter((d) => d.exitCode !== 0);
  if (bad.length > 0)
    throw new Error(
      `${bad.length}/${done.length} failed: ${firstLine(bad[0]!.stderr) || lines(bad[0]!.stdout)[0] || `exit ${bad[0]!.exitCode}`}`,
    );
  return { ms, busy: after.busy - before.busy, idle: after.idle - before.idle };
}
