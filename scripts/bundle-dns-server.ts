/**
 * Build step after tsc: bundles the DNS resolver (src/dns-server/main.ts, its
 * modules and dns-packet) into one CommonJS file, dist/dns-server/main.cjs,
 * which daemonScript (src/adapters/host/daemon-process.ts) starts instead of
 * tsc's dist/dns-server/main.js when it is there. A CommonJS entry never starts
 * Node's ESM loader: 1.4 MiB less RSS for the resolver after a saturating
 * dnsperf run (55.7 against 57.1 MiB with 500 records; issue 16's bound is
 * 60 MB, docs/performance.md), queries/s the same.
 *
 * Safe by construction: if bundling or the smoke check fails, the bundle is
 * removed and the resolver runs from tsc's modules as before (CI fails instead).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { DIST, NODE_ESM_OPTIONS, SRC } from './esbuild-node.ts';

const BUNDLE = join(DIST, 'dns-server/main.cjs');

async function main(): Promise<void> {
  if (!existsSync(join(DIST, 'dns-server/main.js'))) throw new Error('dist/dns-server/main.js is missing: run tsc first');
  const { banner: _esmOnly, ...options } = NODE_ESM_OPTIONS;
  await build({ ...options, format: 'cjs', entryPoints: [join(SRC, 'dns-server/main.ts')], outfile: BUNDLE });
  smokeCheck();
}

/** The bundled resolver must load and run main: given a dns dir that does not exist, it says so and exits 0. */
function smokeCheck(): void {
  const gone = join(mkdtempSync(join(tmpdir(), 'tsnerd-dns-bundle-')), 'gone');
  try {
    const r = spawnSync(process.execPath, [BUNDLE, gone], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0 || !r.stderr.includes('is gone: exiting')) {
      throw new Error(`the bundled resolver failed its smoke check (exit ${r.status}): ${r.stderr.trim().split('\n')[0] ?? ''}`);
    }
  } finally {
    rmSync(join(gone, '..'), { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  rmSync(BUNDLE, { force: true });
  if (process.env['CI']) {
    process.stderr.write(`bundle-dns-server: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stderr.write(`bundle-dns-server: ${(err as Error).message}; the resolver runs unbundled\n`);
}
