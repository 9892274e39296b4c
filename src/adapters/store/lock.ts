/**
 * Cross-process exclusive lock on a path. Node has no flock(2), so the lock is
 * a lock file created with O_EXCL holding the owner's PID; a lock whose owner
 * is dead is stale and taken over. Waiters poll with a short backoff. Locks
 * are re-entrant within one process per path (a process-local queue), so
 * concurrent callers inside one process do not poll each other.
 */
import { link, open, readFile, rm, rename } from 'node:fs/promises';
import { TsnerdError } from '../../domain/errors.ts';

export interface LockOptions {
  /** Shared (read) intent; treated as exclusive: tsnerd's critical sections are short. */
  shared?: boolean;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const local = new Map<string, Promise<unknown>>();

export async function withLock<T>(path: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  // Serialise callers of this process first, so only one of them holds the file.
  const previous = local.get(path) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = previous.then(() => mine);
  local.set(path, chained);
  await previous.catch(() => undefined);
  try {
    await acquire(path, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      return await fn();
    } finally {
      await rm(path, { force: true });
    }
  } finally {
    release();
    if (local.get(path) === chained) local.delete(path);
  }
}

async function acquire(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await takeOverIfStale(path)) continue;
    if (Date.now() > deadline) throw new TsnerdError('timeout', `timed out waiting for lock "${path}"`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Removes the lock file if its owner process is gone; true when it did. */
async function takeOverIfStale(path: string): Promise<boolean> {
  const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
  // An empty file is a lock being written right now: not stale.
  if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) return false;
  // Rename first so that two waiters cannot both delete a fresh lock of a third.
  const tomb = `${path}.stale.${process.pid}`;
  try {
    await rename(path, tomb);
  } catch {
    return false;
  }
  const moved = Number.parseInt(await readFile(tomb, 'utf8').catch(() => ''), 10);
  if (moved !== owner) {
    // A racing waiter took over first and we moved its fresh lock: put it back.
    await link(tomb, path).catch(() => undefined);
    await rm(tomb, { force: true });
    return false;
  }
  await rm(tomb, { force: true });
  return true;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
