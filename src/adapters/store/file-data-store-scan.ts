/** DataStoreScan over the nerdctl-style layout (domain/store-layout.ts). */
import { readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreLayout } from '../../domain/store-layout.ts';
import type { DataStoreScan, StoredDir, StoredName } from '../../interfaces/data-store-scan.ts';
import type { CreationClaim } from '../../interfaces/container-host.ts';
import { readStateDirClaim } from '../host/creation-claim.ts';
import { FileContainerStateFiles } from './container-state-files.ts';

export class FileDataStoreScan implements DataStoreScan {
  private readonly root: string;

  constructor(layout: StoreLayout) {
    this.root = layout.root;
  }

  async names(): Promise<StoredName[]> {
    const out: StoredName[] = [];
    for (const namespace of await dirs(join(this.root, 'names'))) {
      const dir = join(this.root, 'names', namespace);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name.startsWith('.')) continue;
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile()) continue;
        const owner = (await readFile(path, 'utf8').catch(() => '')).trim();
        out.push({ namespace, name, owner, modifiedAt: info.mtime });
      }
    }
    return out;
  }

  async removeName(n: StoredName): Promise<void> {
    const path = join(this.root, 'names', n.namespace, n.name);
    const owner = (await readFile(path, 'utf8').catch(() => undefined))?.trim();
    if (owner !== n.owner) return;
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  stateDirs(): Promise<StoredDir[]> {
    return this.perContainer('containers');
  }

  hostsDirs(): Promise<StoredDir[]> {
    return this.perContainer('etchosts');
  }

  async removeDir(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async lastActivity(path: string): Promise<Date | undefined> {
    const info = await stat(path).catch(() => undefined);
    if (!info) return undefined;
    let newest = info.mtimeMs;
    if (info.isDirectory()) {
      for (const entry of await readdir(path).catch(() => [] as string[])) {
        const s = await stat(join(path, entry)).catch(() => undefined);
        if (s && s.mtimeMs > newest) newest = s.mtimeMs;
      }
    }
    return new Date(newest);
  }

  creationClaim(stateDir: string): Promise<CreationClaim | undefined> {
    return readStateDirClaim(stateDir);
  }

  async startDeadline(stateDir: string): Promise<number | undefined> {
    return (await new FileContainerStateFiles().readLifecycle(stateDir).catch(() => undefined))?.start_deadline;
  }

  async initProcess(stateDir: string): Promise<{ pid: number; start: string } | undefined> {
    const lifecycle = await new FileContainerStateFiles().readLifecycle(stateDir).catch(() => undefined);
    return lifecycle?.pid !== undefined && lifecycle.pid_start !== undefined
      ? { pid: lifecycle.pid, start: lifecycle.pid_start }
      : undefined;
  }

  private async perContainer(kind: string): Promise<StoredDir[]> {
    const out: StoredDir[] = [];
    for (const namespace of await dirs(join(this.root, kind))) {
      for (const id of await dirs(join(this.root, kind, namespace))) {
        const path = join(this.root, kind, namespace, id);
        const modifiedAt = await this.lastActivity(path);
        if (modifiedAt) out.push({ namespace, id, path, modifiedAt });
      }
    }
    return out;
  }
}

async function dirs(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}
