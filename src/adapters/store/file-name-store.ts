/**
 * Name store on disk: `names/<ns>/<name>` holds the owning container ID (no
 * newline, as nerdctl). Exclusive file creation makes acquiring atomic across
 * processes without a separate lock.
 */
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict } from '../../domain/errors.ts';
import { validateContainerName } from '../../domain/container-ref.ts';
import type { NameStore } from '../../interfaces/name-store.ts';

export class FileNameStore implements NameStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async acquire(name: string, id: string): Promise<void> {
    validateContainerName(name);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      await writeFile(join(this.dir, name), id, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await this.owner(name);
      // The owner may have released the name between our create and read.
      if (owner === undefined) return this.acquire(name, id);
      if (owner !== id) throw conflict(`name "${name}" is already used by ID "${owner}"`);
    }
  }

  async release(name: string, id: string): Promise<void> {
    const owner = await this.owner(name);
    if (owner !== id) return;
    await unlink(join(this.dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async owner(name: string): Promise<string | undefined> {
    try {
      return (await readFile(join(this.dir, name), 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
