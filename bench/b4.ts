/**
 * B4: C detached containers started at once on one network, tsnerd vs podman; wall time until all are up.
 * The note gives the machine's CPU time (all processes, /proc/stat) per container and its idle share
 * during those rounds: on 2 cores, a tool that leaves no CPU idle is bound by the CPU it spends.
 */
import { readFile } from 'node:fs/promises';
import type { BenchEnv } from './env.ts';
import type { BenchConfig } from './config.ts';
import type { Results } from './results.ts';
import { firstLine, lines, type Timed } from './proc.ts';

const CONC_NET = 'tsbench-conc';

export async function benchB4(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  const label = (tool: string) => `B4 ${cfg.concurrency} concurrent run -d, ${tool} (wall)`;
  const created = await env.tsnerd(['network', 'create', env.ownNetwork(CONC_NET), '--subnet', '10.210.7.0/24']);
  if (created.exitCode !== 0) results.fail('b4.tsnerd', label('tsnerd'), `network create: ${firstLine(created.stderr)}`);
  else
    await rounds(cfg, results, 'b4.tsnerd', label('tsnerd'), async (round) => {
      const names = Array.from({ length: cfg.concurrency }, (_, i) => `bc${round}x${i}`);
      const t = await wall(names.map((n) => () => env.tsnerd(['run', '-d', '--net', CONC_NET, '--name', n, 'busybox', 'sleep', '3600'])));
      await env.tsnerd(['rm', '-f', ...names], { timeoutMs: 600_000 });
      return t;
    });
  await env.tsnerd(['network', 'rm', CONC_NET]); // and with it its bridge
  const ulimits = await env.podman.ulimitFlags();
  await rounds(cfg, results, 'b4.podman', label('podman'), async (round) => {
    const names = Array.from({ length: cfg.concurrency }, (_, i) => `pc${round}x${i}`);
    const t = await wall(
      names.map((n) => () => env.podman.run(['run', '-d', ...ulimits, '--network', 'bridge', '--name', n, 'busybox', 'sleep', '3600'])),
    );
    await env.podman.run(['rm', '-f', '-t', '0', ...names], { timeoutMs: 600_000 });
    return t;
  });
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
