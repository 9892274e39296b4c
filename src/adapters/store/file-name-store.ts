/**
 * Name store on disk: `names/<ns>/<name>` holds the owning container ID (no
 * newline, as nerdctl). Acquire and release hold nerdctl's lock of the store,
 * flock(2) of the `names/<ns>` directory itself: nerdctl checks the file and
 * then renames its own over it under that lock, so without it both tools
 * could own one name. The exclusive create stays, as a second guard.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { conflict } from '../../domain/errors.ts';
import { validateContainerName } from '../../domain/container-ref.ts';
import type { NameStore } from '../../interfaces/name-store.ts';
import { withLockedDir } from './flock.ts';
import { writeFileNamed } from './write-file.ts';

/** What tsnerd writes into a name file: a container ID (64 hex digits). */
const CONTAINER_ID = /^[0-9a-f]{64}$/;

export class FileNameStore implements NameStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async acquire(name: string, id: string): Promise<void> {
    validateContainerName(name);
    await this.locked(async () => {
      for (;;) {
        try {
          // Synchronous (a small file on every run's path): no thread-pool round trips under the lock.
          writeFileNamed(join(this.dir, name), id, { flag: 'wx', mode: 0o600, removeOnFailure: true });
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const owner = await this.owner(name);
        // Removed meanwhile by a writer that does not lock (an older tsnerd): try again.
        if (owner === undefined) continue;
        // A damaged file (not a container ID) owns nothing: it must not hold the name for good.
        if (!CONTAINER_ID.test(owner) && (await this.removeIfStill(name, owner))) continue;
        if (owner !== id) throw conflict(`name "${name}" is already used by ID "${owner}"`);
        return;
      }
    });
  }

  /** Frees the name if `id` owns it, or if the file is damaged (holds no container ID). */
  async release(name: string, id: string): Promise<void> {
    // Nothing to free (the usual case after postStop or a rollback that never took it): no lock taken.
    if ((await this.owner(name)) === undefined) return;
    await this.locked(async () => {
      const owner = await this.owner(name);
      if (owner === undefined || (owner !== id && CONTAINER_ID.test(owner))) return;
      await this.removeIfStill(name, owner);
    });
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLockedDir(this.dir, fn, { mode: 0o700 });
  }

  /** Deletes the name file if it still holds `owner` (re-read just before, against a writer that does not lock). */
  private async removeIfStill(name: string, owner: string): Promise<boolean> {
    if ((await this.owner(name)) !== owner) return false;
    try {
      unlinkSync(join(this.dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return true;
  }

  async owner(name: string): Promise<string | undefined> {
    try {
      return readFileSync(join(this.dir, name), 'utf8').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
