/**
 * The process's side of tsnerd's on-demand processes (the port holder, the DNS
 * resolver, the overlay agent; src/adapters/host/daemon-process.ts starts
 * them): the readiness line on fd 3, the single-instance lock, the pid file and
 * the timing knobs tests set in the environment.
 * Node built-ins only (and flock(1)): these processes are lean on purpose.
 */
import { closeSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { holdFlock } from '../store/flock.ts';

/** The readiness pipe's descriptor in the started process. */
export const READY_FD = 3;

/** Writes the one readiness line and closes the pipe; a no-op without a pipe (started by hand) or a starter gone. */
export function reportReady<T extends { ok: boolean }>(message: T): void {
  try {
    writeSync(READY_FD, `${JSON.stringify(message)}\n`);
    closeSync(READY_FD);
  } catch {
    // No readiness pipe, or the starter went away: the process serves anyway.
  }
}

/**
 * Takes lockFile (flock(2), exclusive, without waiting) for this process's
 * life: false when another instance holds it, or when the file was removed
 * between our open and our lock (an instance exiting, or `network gc`, removes
 * it while holding it): a lock on a file no longer at its path excludes
 * nobody, so the next start locks the file made anew.
 */
export async function holdInstanceLock(lockFile: string): Promise<boolean> {
  const handle = await holdFlock(lockFile);
  if (!handle) return false;
  const held = await handle.stat();
  const atPath = statSync(lockFile, { throwIfNoEntry: false });
  if (atPath?.ino !== held.ino || atPath.dev !== held.dev) {
    await handle.close();
    return false;
  }
  // Referenced until the process exits: a FileHandle that is garbage collected is closed, and the lock with it.
  heldLocks.push(handle);
  return true;
}

const heldLocks: FileHandle[] = [];

/** Writes this process's pid to pidFile atomically (a reader never sees it half written). */
export function writePidFile(pidFile: string): void {
  try {
    writeFileSync(`${pidFile}.tmp`, `${process.pid}\n`);
    renameSync(`${pidFile}.tmp`, pidFile);
  } catch (err) {
    rmSync(`${pidFile}.tmp`, { force: true }); // a full disk: no temp file left beside the pid file
    throw err;
  }
}

/** Removes pidFile if it still names this process (a successor's is left alone). */
export function removeOwnPidFile(pidFile: string): void {
  try {
    if (readFileSync(pidFile, 'utf8').trim() === String(process.pid)) rmSync(pidFile, { force: true });
  } catch {
    // already gone
  }
}

/** A duration knob of this process's environment (tests shorten them): `name`'s value in ms, else `fallback`. */
export function envMs(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n >= 0 && process.env[name] !== '' ? n : fallback;
}
