/** Bench knobs, from the environment. Defaults keep a full run under ~10 minutes on 2 cores. */
export interface BenchConfig {
  rounds: number;
  warmup: number;
  /** Containers started one after another in B3. */
  scale: number;
  networks: number;
  concurrency: number;
  concurrencyRounds: number;
  /** B3 is repeated this often: its growth goal holds in every run (issue 14). */
  scaleRuns: number;
  /** MEM: running containers with one published port each. */
  memContainers: number;
  /** Scenario ids to run (B1..B4, RSS); all when BENCH_ONLY is unset. */
  only: Set<string>;
}

export function benchConfig(env: Record<string, string | undefined> = process.env): BenchConfig {
  const int = (name: string, dflt: number) => {
    const v = Number(env[name] ?? dflt);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got "${env[name]}"`);
    return v;
  };
  const only = (env['BENCH_ONLY'] ?? 'B1,B2,B3,B4,RSS,MEM')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  return {
    rounds: Math.max(1, int('BENCH_ROUNDS', 7)),
    warmup: int('BENCH_WARMUP', 1),
    scale: Math.max(20, int('BENCH_SCALE', 200)),
    networks: int('BENCH_NETWORKS', 500),
    concurrency: Math.max(1, int('BENCH_CONCURRENCY', 32)),
    concurrencyRounds: Math.max(1, int('BENCH_CONCURRENCY_ROUNDS', 2)),
    scaleRuns: Math.max(1, int('BENCH_SCALE_RUNS', 3)),
    memContainers: Math.max(1, int('BENCH_MEM', 100)),
    only: new Set(only),
  };
}
