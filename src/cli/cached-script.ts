/**
 * Runs a CommonJS bundle (dist/cli/fast-main.cjs, scripts/bundle-cli.ts) with a V8
 * code cache made when the process exits, not when the code was loaded.
 *
 * module.enableCompileCache() stores each module's code as compiled at load: the
 * top level only. Every function compiled lazily, on its first call (most of grpc-js,
 * protobufjs and our own run path), was parsed and compiled again by every CLI
 * start. A cache made at exit holds those too: `run --rm --net none` -34 ms of CPU
 * (docs/performance.md). One cache per bundle, build and command line shape (`run`
 * and `network ls` call different functions), in node's compile cache directory;
 * V8 itself refuses a cache of another node version or V8 flags, and such a cache
 * is written again.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script, constants } from 'node:vm';

/** The bundle's first line: a hash of the rest, written by the build (V8 checks only the source's length). */
const BUILD_LINE = /^\/\/ tsnerd-build:([0-9a-f]{16,})\n/;

/** The bundle's exports, or undefined when there is no such file (sources run unbundled). */
export function loadCachedScript<T>(file: string, variant: string): T | undefined {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const build = BUILD_LINE.exec(source)?.[1];
  const dir = module.getCompileCacheDir?.();
  const prefix = `${basename(file)}-${fnv1a(`${file}\0${variant}`)}-`;
  const cacheFile = build === undefined || dir === undefined ? undefined : join(dir, 'tsnerd', `${prefix}${build.slice(0, 16)}`);
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile !== undefined) cachedData = readFileSync(cacheFile);
  } catch {
    // first run of this build and command: compiled now, cached at exit
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {'use strict';${source}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
    // import() of what the bundle leaves outside (none on the fast path) as from an ES module
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    process.once('exit', () => writeCache(cacheFile, prefix, script));
  }
  const exported = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(exported.exports, module.createRequire(file), exported, file, dirname(file));
  return exported.exports as T;
}

/** Best effort: a cache that cannot be written costs the next start its compilation, nothing else. */
function writeCache(cacheFile: string, prefix: string, script: Script): void {
  try {
    const dir = dirname(cacheFile);
    mkdirSync(dir, { recursive: true });
    // Earlier builds' caches of this bundle and command go.
    for (const old of readdirSync(dir)) if (old.startsWith(prefix) && old !== basename(cacheFile)) rmSync(join(dir, old), { force: true });
    const staging = `${cacheFile}.${process.pid}`;
    writeFileSync(staging, script.createCachedData());
    renameSync(staging, cacheFile);
  } catch {
    // read-only or full cache dir
  }
}

/** 32-bit FNV-1a of a short string, for a file name. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
