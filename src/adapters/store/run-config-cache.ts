/**
 * RunConfigCache in the data store: <root>/imagecache/<digest hex>.json. A
 * target digest names immutable content, so an entry never goes stale; it
 * spares every `run` two content reads and two document validations (~15 ms).
 */
import { readFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CachedRunConfig, RunConfigCache } from '../../interfaces/run-config-cache.ts';

let tmpCounter = 0;

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export class FileRunConfigCache implements RunConfigCache {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async get(targetDigest: string): Promise<CachedRunConfig | undefined> {
    const path = this.pathOf(targetDigest);
    if (!path) return undefined;
    try {
      const value = JSON.parse(await readFile(path, 'utf8')) as Partial<CachedRunConfig>;
      return typeof value.chainId === 'string' && isRunConfig(value.config) ? { chainId: value.chainId, config: value.config } : undefined;
    } catch {
      return undefined;
    }
  }

  async put(targetDigest: string, value: CachedRunConfig): Promise<void> {
    const path = this.pathOf(targetDigest);
    if (!path) return;
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const tmp = `${path}.${process.pid}-${++tmpCounter}.tmp`; // the CLI server writes for several requests at once
      await writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
      await rename(tmp, path);
    } catch {
      // a cache: the next run reads the content store again
    }
  }

  private pathOf(digest: string): string | undefined {
    const hex = DIGEST.exec(digest)?.[1];
    return hex === undefined ? undefined : join(this.dir, `${hex}.json`);
  }
}

function isRunConfig(v: unknown): v is CachedRunConfig['config'] {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');
  return (
    strings(c['env']) &&
    strings(c['cmd']) &&
    strings(c['entrypoint']) &&
    strings(c['exposedPorts']) &&
    typeof c['workingDir'] === 'string' &&
    typeof c['user'] === 'string' &&
    typeof c['labels'] === 'object' &&
    c['labels'] !== null
  );
}
