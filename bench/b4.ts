/** B4: C detached containers started at once on one network, tsnerd vs podman; wall time until all are up. */
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
  once: (round: number) => Promise<number>,
): Promise<void> {
  const sample = { key, label, unit: 'ms' as const, values: [] as number[] };
  results.add(sample);
  try {
    for (let r = 0; r < cfg.warmup + cfg.concurrencyRounds; r++) {
      const ms = await once(r);
      if (r >= cfg.warmup) sample.values.push(ms);
    }
  } catch (e) {
    results.fail(key, label, e);
  }
}

/** Starts every command at once; throws with the first failure's stderr once all have ended. */
async function wall(cmds: (() => Promise<Timed>)[]): Promise<number> {
  const start = performance.now();
  const done = await Promise.all(cmds.map((c) => c()));
  const ms = performance.now() - start;
  const bad = done.filter((d) => d.exitCode !== 0);
  if (bad.length > 0)
    throw new Error(
      `${bad.length}/${done.length} failed: ${firstLine(bad[0]!.stderr) || lines(bad[0]!.stdout)[0] || `exit ${bad[0]!.exitCode}`}`,
    );
  return ms;
}
