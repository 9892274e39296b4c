/**
 * libcni's result cache: `<cacheDir>/results/<network>-<containerID>-<ifname>`,
 * dir 0700, files 0600. Writes go through a temp file and rename so that a
 * concurrent reader never sees half an entry. Reads and writes are synchronous:
 * an ADD writes the entry before its first plugin and after each one, and the
 * next plugin waits for it; every hook lists the entries before the CNI lock;
 * a sync read or write of a few KB costs less than the thread-pool round trips
 * of an async one (docs/performance.md).
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { internal } from '../../domain/errors.ts';
import { attachmentCacheName } from '../../domain/cni/attachment.ts';
import { DEFAULT_CNI_CACHE_DIR } from '../../domain/cni/cache-dir.ts';
import { CACHE_KIND, decodeCacheEntry, encodeCacheEntry, type CacheEntry } from '../../domain/cni/cache-entry.ts';

export { DEFAULT_CNI_CACHE_DIR };

export interface AttachmentKey {
  networkName: string;
  containerId: string;
  ifName: string;
}

/** Temp file names: unique among live processes (pid) and within this one (counter). */
let tmpCounter = 0;

export class ResultCache {
  readonly resultsDir: string;
  /** The results dir was made (or found) by an earlier write of this process. */
  private dirMade = false;

  constructor(cacheDir: string = DEFAULT_CNI_CACHE_DIR) {
    this.resultsDir = join(cacheDir, 'results');
  }

  pathOf(key: AttachmentKey): string {
    return join(this.resultsDir, attachmentCacheName(key.networkName, key.containerId, key.ifName));
  }

  async write(entry: CacheEntry): Promise<void> {
    const path = this.pathOf(entry);
    const tmp = `${path}.${process.pid}-${++tmpCounter}.tmp`;
    const text = encodeCacheEntry(entry);
    try {
      try {
        if (!this.dirMade) mkdirSync(this.resultsDir, { recursive: true, mode: 0o700 });
        writeFileSync(tmp, text, { mode: 0o600 });
      } catch (err) {
        if (!this.dirMade || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        mkdirSync(this.resultsDir, { recursive: true, mode: 0o700 }); // removed since: made again
        writeFileSync(tmp, text, { mode: 0o600 });
      }
      this.dirMade = true;
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw internal(`failed to write CNI result cache "${path}": ${(err as Error).message}`, { cause: err });
    }
  }

  /** undefined when there is no entry; throws on an unreadable one. */
  async read(key: AttachmentKey): Promise<CacheEntry | undefined> {
    let text: string;
    try {
      text = readFileSync(this.pathOf(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw internal(`failed to read CNI result cache "${this.pathOf(key)}": ${(err as Error).message}`, { cause: err });
    }
    return decodeCacheEntry(text, key);
  }

  async remove(key: AttachmentKey): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** libcni GetCachedAttachments: cniCacheV1 entries of `containerId` (or all), sorted by file name. */
  async list(containerId?: string): Promise<CacheEntry[]> {
    let names: string[];
    try {
      names = readdirSync(this.resultsDir)
        .filter((n) => !n.endsWith('.tmp'))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    if (containerId) names = names.filter((n) => n.includes(`-${containerId}-`));
    const entries: CacheEntry[] = [];
    for (const name of names) {
      try {
        const text = readFileSync(join(this.resultsDir, name), 'utf8');
        if ((JSON.parse(text) as { kind?: unknown }).kind !== CACHE_KIND) continue;
        const entry = decodeCacheEntry(text, { networkName: '', containerId: '', ifName: '' });
        if (entry.networkName === '' || entry.ifName === '') continue;
        if (containerId && entry.containerId !== containerId) continue;
        entries.push(entry);
      } catch {
        // Unreadable or vanished entries are not attachments (libcni skips them too).
      }
    }
    return entries;
  }
}
