/**
 * B1: one `run --rm … sh -c :` end to end, tsnerd vs ctr vs podman, rounds
 * interleaved so that drift on the machine hits every tool alike.
 */
import type { BenchEnv } from './env.ts';
import { IMAGE } from './env.ts';
import { firstLine, type Timed } from './proc.ts';
import type { BenchConfig } from './config.ts';
import type { Results } from './results.ts';
import { bridgeConfList } from './cni-chain.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface Variant {
  key: string;
  label: string;
  note?: string;
  run(round: number): Promise<Timed>;
}

export async function benchB1(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  // ctr loads the first network of its conf dir; same chain as tsnerd's bridge template
  const ctrList = await bridgeConfList(env.ownNetwork('tsnerd-bench-ctr'), 'tsb-ctr0', '10.210.3.0/24', '10.210.3.1');
  await writeFile(join(env.ctrConfDir, '10-bench.conflist'), JSON.stringify(ctrList));
  env.onStop(() => env.deleteLink('tsb-ctr0'));
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
    process.stderr.write(`B1 round ${round + 1}/${cfg.warmup + cfg.rounds}\n`);
  }
}
