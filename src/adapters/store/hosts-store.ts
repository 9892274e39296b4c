/**
 * File-backed HostsStore: etchosts/<ns>/<id>/{hosts,meta.json}.
 *
 * hosts is bind-mounted into the running container, so it is rewritten in
 * place (truncate + write keeps the inode); a rename would leave the container
 * looking at the old file. meta.json is not mounted and is replaced atomically.
 * Every change holds the namespace's lock while it rewrites all hosts files.
 */
import { mkdir, readdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHostsFile, type HostsMeta } from '../../domain/dns/hosts-file.ts';
import type { StoreLayout } from '../../domain/store-layout.ts';
import { StateFiles } from '../../domain/store-layout.ts';
import type { HostsStore } from '../../ports/hosts-store.ts';
import { withFlock } from './flock.ts';

export class FileHostsStore implements HostsStore {
  private readonly layout: StoreLayout;

  constructor(layout: StoreLayout) {
    this.layout = layout;
  }

  async allocate(ns: string, id: string, content: string): Promise<string> {
    const dir = this.layout.hostsDir(ns, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, StateFiles.hosts);
    try {
      await writeFile(path, content, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return path;
  }

  async acquire(ns: string, meta: HostsMeta): Promise<void> {
    await this.locked(ns, async () => {
      const dir = this.layout.hostsDir(ns, meta.ID);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = join(dir, `.${StateFiles.meta}.tmp`);
      await writeFile(tmp, JSON.stringify(meta), { mode: 0o600 });
      await rename(tmp, join(dir, StateFiles.meta));
      await this.rewriteAll(ns);
    });
  }

  async release(ns: string, id: string): Promise<void> {
    await this.locked(ns, async () => {
      await rm(join(this.layout.hostsDir(ns, id), StateFiles.meta), { force: true });
      await this.rewriteAll(ns);
    });
  }

  async delete(ns: string, id: string): Promise<void> {
    await this.locked(ns, async () => {
      await rm(this.layout.hostsDir(ns, id), { recursive: true, force: true });
      await this.rewriteAll(ns);
    });
  }

  async list(ns: string): Promise<HostsMeta[]> {
    let ids: string[];
    try {
      ids = await readdir(this.layout.etchostsDir(ns));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const metas = await Promise.all(ids.filter((id) => !id.startsWith('.')).map((id) => this.readMeta(ns, id)));
    return metas.filter((m): m is HostsMeta => m !== undefined);
  }

  private async readMeta(ns: string, id: string): Promise<HostsMeta | undefined> {
    try {
      return JSON.parse(await readFile(join(this.layout.hostsDir(ns, id), StateFiles.meta), 'utf8')) as HostsMeta;
    } catch {
      return undefined; // stopped container or a half-written dir: not listed
    }
  }

  /** Rewrites the managed block of every running container's hosts file. */
  private async rewriteAll(ns: string): Promise<void> {
    const all = await this.list(ns);
    await Promise.all(
      all.map(async (meta) => {
        const path = join(this.layout.hostsDir(ns, meta.ID), StateFiles.hosts);
        const current = await readFile(path, 'utf8').catch(() => '');
        const next = renderHostsFile(current, meta, all);
        if (next !== current) await writeFile(path, next, { mode: 0o644 });
      }),
    );
  }

  private async locked<T>(ns: string, fn: () => Promise<T>): Promise<T> {
    const dir = this.layout.etchostsDir(ns);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return withFlock(join(dir, '.lock'), fn);
  }
}
