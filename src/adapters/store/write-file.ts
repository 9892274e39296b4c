/**
 * Writes whose failure names the file. node's error for a write that fails after the open (a
 * full disk: `ENOSPC: no space left on device, write`) names none; the CLI prints a system
 * error with its path as Go and Docker do (`write <path>: no space left on device`,
 * domain/errors.ts).
 */
import { rmSync, writeFileSync } from 'node:fs';

/** `err` with `path` as its file, if it is a system error that names none. */
export function namingPath(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof Error && typeof e.code === 'string' && e.path === undefined) e.path = path;
  return err;
}

/** writeFileSync, its failure naming `path`. With `removeOnFailure`, a file it could not write whole is removed. */
export function writeFileNamed(path: string, data: string, options: { mode: number; flag?: string; removeOnFailure?: boolean }): void {
  try {
    writeFileSync(path, data, { mode: options.mode, ...(options.flag === undefined ? {} : { flag: options.flag }) });
  } catch (err) {
    if (options.removeOnFailure && (err as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(path, { force: true });
    throw namingPath(err, path);
  }
}
