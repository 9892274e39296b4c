/**
 * Interleaved A/B of `run --rm --net <net> -p` between this checkout and another
 * (AB_BASE, e.g. a worktree of main, built), with `ctr run --rm` beside them:
 * each round runs every variant once, in a rotating order, on one private
 * containerd (test/e2e/harness.ts). Variants: `base` (AB_BASE's bin/tsnerd),
 * `server` (this checkout, TSNERD_HOOK_SERVER=1), `process` (this checkout,
 * TSNERD_HOOK_SERVER=0), `ctr`. Prints medians, min and max per variant and
 * the load average before and after.
 *   AB_BASE=/path/to/main AB_ROUNDS=12 scripts/node bench/hook-ab.ts
 * AB_NAME (startEnv name and network, default hs-ab), AB_SUBNET (10.240.201.0/24) and
 * AB_PORT (45100) let runs from different checkouts keep to their own resources.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ctr, importTestImage, startEnv, tsnerd } from '../test/e2e/harness.ts';
import { REPO_ROOT } from './env.ts';

const BASE = process.env['AB_BASE'];
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 12);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const NAME = process.env['AB_NAME'] ?? 'hs-ab';
const env = await startEnv(NAME);
try {
  const image = await importTestImage(env);
  const net = NAME;
  const created = await tsnerd(env, ['network', 'create', net, '--subnet', process.env['AB_SUBNET'] ?? '10.240.201.0/24']);
  if (created.exitCode !== 0) throw new Error(created.stderr);
  const runArgs = ['run', '--rm', '--net', net, '-p', `127.0.0.1:${process.env['AB_PORT'] ?? 45100}:80`, 'busybox', 'sh', '-c', ':'];
  const cli = (bin: string, extra: Record<string, string>) => async () => {
    const r = await execa(bin, runArgs, { env: { ...env.env, ...extra }, reject: false, timeout: 60_000 });
    if (r.exitCode !== 0) throw new Error(`${bin}: ${r.stderr}`);
  };
  const variants: [string, () => Promise<void>][] = [
    ...(BASE ? [['base', cli(join(BASE, 'bin/tsnerd'), {})] as [string, () => Promise<void>]] : []),
    ['server', cli(join(REPO_ROOT, 'bin/tsnerd'), { TSNERD_HOOK_SERVER: '1' })],
    ['process', cli(join(REPO_ROOT, 'bin/tsnerd'), { TSNERD_HOOK_SERVER: '0' })],
    [
      'ctr',
      async () => {
        const r = await ctr(env, ['run', '--rm', image, `${NAME}-ctr-${Date.now()}`, 'sh', '-c', ':'], { timeoutMs: 60_000 });
        if (r.exitCode !== 0) throw new Error(`ctr: ${r.stderr}`);
      },
    ],
  ];
  const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  const load0 = loadavg();
  for (const [, run] of variants) await run(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < variants.length; j++) {
      const [name, run] = variants[(round + j) % variants.length]!;
      const t0 = performance.now();
      await run();
      times.get(name)!.push(performance.now() - t0);
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(`rounds ${ROUNDS}, load ${load0} -> ${loadavg()}`);
  for (const [name, v] of times)
    console.log(`${name.padEnd(8)} median ${median(v).toFixed(0)} ms  min ${Math.min(...v).toFixed(0)}  max ${Math.max(...v).toFixed(0)}`);
  await tsnerd(env, ['network', 'rm', net]);
} finally {
  await env.stop();
}
