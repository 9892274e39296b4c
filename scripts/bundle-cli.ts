/**
 * Build step after tsc and scripts/bundle-hook.ts: bundles the CLI entry
 * (dist/cli.js) and every oclif command (dist/commands/**.js) with esbuild,
 * code shared between commands split into dist/chunks/. oclif still finds the
 * commands by their file (and the manifest), but a `run` loads ~15 files
 * instead of ~700 modules (grpc-js, protobufjs, zod, execa; docs/performance.md).
 *
 * Kept outside the bundle: @oclif/core (it locates its own package.json with
 * __dirname), @grpc/proto-loader (grpc-js requires it only for channelz and
 * ORCA, never on a client's path; bundled, it brought ~300 KB of protobufjs
 * reflection code that every start parsed) and the OCI hook (dist/hook/main.js,
 * bundled by bundle-hook.ts).
 * The CLI server's perl client is copied beside the fast path's bundle.
 * Safe by construction: if bundling fails or the bundled CLI cannot show a
 * command's help, tsc's output is put back and the build still succeeds.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { DIST, NODE_ESM_OPTIONS, ROOT, SRC, keepModuleUrls } from './esbuild-node.ts';

/** Stands for the URL of dist/ in bundled code; each output file gets its own relative value. */
const DIST_URL = '__TSNERD_DIST_URL__';

function commandEntries(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? commandEntries(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const keepUrls = keepModuleUrls((fromDist) => `new URL(${JSON.stringify(fromDist)}, ${DIST_URL}).href`);

/** The hook keeps its own bundle: cli.ts's dynamic import of it stays a file import. */
const hookExternal: Plugin = {
  name: 'hook-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/hook\/main\.ts$/ }, () => ({ path: './hook/main.js', external: true }));
  },
};

async function main(): Promise<void> {
  // Inside the repo, so the bundle's bare imports (@oclif/core) resolve as they will in dist/.
  const out = mkdtempSync(join(ROOT, '.bundle-cli-'));
  try {
    const result = await build({
      ...NODE_ESM_OPTIONS,
      entryPoints: [join(SRC, 'cli.ts'), ...commandEntries(join(SRC, 'commands'))],
      outdir: out,
      outbase: SRC,
      entryNames: '[dir]/[name]',
      chunkNames: 'chunks/[name]-[hash]',
      splitting: true,
      external: ['@oclif/core', '@grpc/proto-loader'],
      write: false,
      plugins: [keepUrls, hookExternal],
    });
    for (const file of result.outputFiles) {
      const toDist = relative(dirname(file.path), out) || '.';
      const text = file.text.replaceAll(DIST_URL, `new URL(${JSON.stringify(`${toDist}/`)}, import.meta.url)`);
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileSync(file.path, text);
    }
    await bundleFastMain(out);
    install(out);
    installCliClient();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The fast path (src/cli/fast-main.ts: run, create, start, rm, network ls/inspect and the
 * choice of oclif) as one CommonJS script, cli/fast-main.cjs, which cli.ts runs through
 * src/cli/cached-script.ts: a V8 code cache made at exit covers the functions compiled
 * lazily during the run, which the ES module chunks' compile cache does not (~34 ms of
 * CPU per `run`, docs/performance.md). Its first line is a hash of the rest (the cache key).
 */
async function bundleFastMain(out: string): Promise<void> {
  const file = join(out, 'cli', 'fast-main.cjs');
  const result = await build({
    ...NODE_ESM_OPTIONS,
    format: 'cjs',
    banner: {},
    entryPoints: [join(SRC, 'cli', 'fast-main.ts')],
    outfile: file,
    external: ['@oclif/core', '@grpc/proto-loader'],
    write: false,
    plugins: [keepModuleUrls((fromDist) => `new URL(${JSON.stringify(fromDist)}, ${DIST_URL}).href`), hookExternal, importMetaUnused],
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('fast-main.cjs: esbuild wrote nothing');
  const toDist = relative(dirname(file), out) || '.';
  const text = output.text.replaceAll(DIST_URL, `new URL(${JSON.stringify(`${toDist}/`)}, require("node:url").pathToFileURL(__filename))`);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 32);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `// tsnerd-build:${hash}\n${text}`);
}

/**
 * The CLI server's perl client (src/cli/cli-client.pl) beside the bundle whose build id it
 * reads; bin/tsnerd runs it only when it is there.
 */
function installCliClient(): void {
  const client = join(DIST, 'cli', 'cli-client.pl');
  copyFileSync(join(SRC, 'cli', 'cli-client.pl'), client);
  const perl = spawnSync('perl', ['-c', client], { encoding: 'utf8', timeout: 30_000 });
  if (perl.status !== 0 && !perl.error) {
    rmSync(client, { force: true });
    throw new Error(`the CLI client does not compile: ${perl.stderr.trim()}`);
  }
}

/** In a CommonJS bundle import.meta is empty: any use keepModuleUrls did not rewrite fails the build. */
const importMetaUnused: Plugin = {
  name: 'import-meta-unused',
  setup(b) {
    b.onEnd((r) => {
      const uses = r.warnings.filter((w) => w.text.includes('import.meta'));
      if (uses.length > 0) r.errors.push(...uses);
    });
  },
};

/** Swaps the bundle in for tsc's cli.js and commands/, and back if the bundled CLI cannot run a command. */
function install(out: string): void {
  const backup = join(DIST, '.tsc-cli');
  rmSync(backup, { recursive: true, force: true });
  mkdirSync(backup);
  renameSync(join(DIST, 'cli.js'), join(backup, 'cli.js'));
  renameSync(join(DIST, 'commands'), join(backup, 'commands'));
  rmSync(join(DIST, 'chunks'), { recursive: true, force: true });
  cpSync(out, DIST, { recursive: true });
  const r = spawnSync(process.execPath, [join(DIST, 'cli.js'), 'network', 'create', '--help'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 || !r.stdout.includes('--subnet')) {
    rmSync(join(DIST, 'chunks'), { recursive: true, force: true });
    rmSync(join(DIST, 'commands'), { recursive: true, force: true });
    rmSync(join(DIST, 'cli', 'fast-main.cjs'), { force: true });
    renameSync(join(backup, 'cli.js'), join(DIST, 'cli.js'));
    renameSync(join(backup, 'commands'), join(DIST, 'commands'));
    rmSync(backup, { recursive: true, force: true });
    throw new Error(`the bundled CLI failed its smoke check (exit ${r.status}): ${r.stderr.trim().split('\n')[0] ?? ''}`);
  }
  rmSync(backup, { recursive: true, force: true });
}

try {
  await main();
} catch (err) {
  if (process.env['CI']) {
    // CI checks what ships: a bundle that cannot be built is a failed build, not a slower CLI.
    process.stderr.write(`bundle-cli: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stderr.write(`bundle-cli: ${(err as Error).message}; keeping the unbundled CLI\n`);
}
