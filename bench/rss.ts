/** Peak RSS of the CLI process for a few commands (the hook's is measured in B2). */
import type { BenchEnv } from './env.ts';
import { TSNERD_BIN } from './env.ts';
import type { BenchConfig } from './config.ts';
import type { Results } from './results.ts';
import { firstLine, peakRssKiB } from './proc.ts';

export async function benchRss(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  const cases: [string, string, string[]][] = [
    ['rss.cli.none', 'RSS CLI run --rm --net none', ['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', ':']],
    [
      'rss.cli.bridge',
      'RSS CLI run --rm --net bridge -p',
      ['run', '--rm', '--net', 'bridge', '-p', '19084:80', 'busybox', 'sh', '-c', ':'],
    ],
    ['rss.cli.ls', 'RSS CLI network ls', ['network', 'ls']],
  ];
  for (const [key, label, args] of cases) {
    const sample = { key, label, unit: 'MiB' as const, values: [] as number[] };
    results.add(sample);
    for (let i = 0; i < Math.min(cfg.rounds, 3); i++) {
      const { kib, run } = await peakRssKiB(TSNERD_BIN, args, { env: env.test.env });
      if (run.exitCode !== 0) {
        results.fail(key, label, firstLine(run.stderr) || `exit ${run.exitCode}`, 'MiB');
        break;
      }
      sample.values.push(kib / 1024);
    }
  }
}
