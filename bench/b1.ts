/**
 * B1: one `run --rm … sh -c :` end to end, tsnerd vs ctr vs podman, rounds
 * interleaved so that drift on the machine hits every tool alike.
 */
import type { BenchEnv } from './env.ts';
import { IMAGE } from './env.ts';
import { firstLine, type Timed } from './proc.ts';
import type { BenchConfig } from './config.ts';
import type { Results } from './results.ts';

interface Variant {
  key: string;
  label: string;
  note?: string;
  run(round: number): Promise<Timed>;
}

export async function benchB1(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  await env.ctrNetwork();
  const ulimits = await env.podman.ulimitFlags();
  const variants: Variant[] = [
    {
      key: 'b1.tsnerd.bridge',
      label: 'B1 tsnerd run --rm --net bridge -p',
      run: () => env.tsnerd(['run', '--rm', '--net', 'bridge', '-p', '19080:80', 'busybox', 'sh', '-c', ':']),
    },
    {
      key: 'b1.ctr.cni',
      label: 'B1 ctr run --rm --cni',
      note: 'no port mapping (ctr has no -p); DEL without netns',
      run: (i) => env.ctrCni(['run', '--rm', '--cni', IMAGE, `bench-cni-${i}`, 'sh', '-c', ':']),
    },
    {
      key: 'b1.podman.bridge',
      label: 'B1 podman run --rm --network bridge -p',
      run: () => env.podman.run(['run', '--rm', ...ulimits, '--network', 'bridge', '-p', '19081:80', 'busybox', 'sh', '-c', ':']),
    },
    {
      key: 'b1.tsnerd.none',
      label: 'B1 tsnerd run --rm --net none',
      run: () => env.tsnerd(['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', ':']),
    },
    { key: 'b1.ctr.none', label: 'B1 ctr run --rm', run: (i) => env.ctr(['run', '--rm', IMAGE, `bench-none-${i}`, 'sh', '-c', ':']) },
    {
      key: 'b1.podman.none',
      label: 'B1 podman run --rm --network none',
      run: () => env.podman.run(['run', '--rm', ...ulimits, '--network', 'none', 'busybox', 'sh', '-c', ':']),
    },
  ];
  for (const v of variants) results.add({ key: v.key, label: v.label, unit: 'ms', values: [], ...(v.note ? { note: v.note } : {}) });
  // Where the CLI's time goes, from a traced run of its own (TSNERD_TRACE=1 prints each containerd
  // call's end and duration): not part of the goals, so the measured runs above stay untraced.
  const trace = {
    first: {
      key: 'b1.tsnerd.none.first',
      label: 'B1   tsnerd --net none (traced): first containerd call answered at',
      unit: 'ms' as const,
      values: [] as number[],
    },
    calls: {
      key: 'b1.tsnerd.none.calls',
      label: 'B1   tsnerd --net none (traced): sum of containerd call durations',
      unit: 'ms' as const,
      values: [] as number[],
    },
    last: {
      key: 'b1.tsnerd.none.last',
      label: 'B1   tsnerd --net none (traced): last call answered → exit',
      unit: 'ms' as const,
      values: [] as number[],
    },
  };
  for (const s of Object.values(trace)) results.add(s);

  const failed = new Set<string>();
  for (let round = 0; round < cfg.warmup + cfg.rounds; round++) {
    for (const v of variants) {
      if (failed.has(v.key)) continue;
      const r = await v.run(round);
      if (r.exitCode !== 0) {
        failed.add(v.key);
        results.fail(v.key, v.label, firstLine(r.stderr) || `exit ${r.exitCode}`);
        continue;
      }
      if (round >= cfg.warmup) results.samples.get(v.key)!.values.push(r.ms);
    }
    const traced = await env.tsnerd(['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', ':'], { env: { TSNERD_TRACE: '1' } });
    const calls = [...traced.stderr.matchAll(/^tsnerd trace: \+(\d+)ms grpc \S+ ([\d.]+)ms$/gm)].map(
      (m) => [Number(m[1]), Number(m[2])] as const,
    );
    if (round >= cfg.warmup && traced.exitCode === 0 && calls.length > 0) {
      trace.first.values.push(calls[0]![0]);
      trace.calls.values.push(calls.reduce((a, [, d]) => a + d, 0));
      trace.last.values.push(traced.ms - Math.max(...calls.map(([end]) => end)));
    }
    process.stderr.write(`B1 round ${round + 1}/${cfg.warmup + cfg.rounds}\n`);
  }
}
