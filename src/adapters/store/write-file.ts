/**
 * Writes whose failure names the file. node's error for a write that fails after the open (a
 * full disk: `ENOSPC: no space left on device, write`) names none; the CLI prints a system
 * error with its path as Go and Docker do (`write <path>: no space left on device`,
 * domain/errors.ts).
 */
import { closeSync, fstatSync, ftruncateSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';

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

/** Every byte of `length` from `offset` written at `position` (a write to a regular file may stop short before it fails). */
function writeAll(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  while (length > 0) {
    const n = writeSync(fd, buf, offset, length, position);
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    offset += n;
    length -= n;
    position += n;
  }
}

/**
 * `buf` written at `at` into the open file of `size` bytes, the part past its end first: that is
 * the part that needs new blocks, so a write that fails for want of room (a full disk) is taken
 * back (the file cut to its old size) before any old byte changed; the rest only overwrites
 * bytes the file has. A file never ends half written for want of room.
 */
export function writeGrowingFirst(fd: number, buf: Buffer, at: number, size: number): void {
  const end = at + buf.length;
  if (end > size) {
    const from = Math.max(at, size);
    try {
      writeAll(fd, buf, from - at, end - from, from);
    } catch (err) {
      ftruncateSync(fd, size);
      throw err;
    }
  }
  const over = Math.min(end, size) - at;
  if (over > 0) writeAll(fd, buf, 0, over, at);
}

/**
 * A file's whole content replaced in place (the same inode: a file bind-mounted into a container
 * is rewritten, never replaced), growing it first (writeGrowingFirst): a full disk leaves it as it
 * was, not truncated as a truncate-then-write leaves it. A missing file is written new.
 */
export function rewriteInPlace(path: string, data: string, mode: number): void {
  const next = Buffer.from(data);
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw namingPath(err, path);
    writeFileNamed(path, data, { mode, flag: 'wx', removeOnFailure: true });
    return;
  }
  try {
    const size = fstatSync(fd).size;
    writeGrowingFirst(fd, next, 0, size);
    if (next.length < size) ftruncateSync(fd, next.length);
  } catch (err) {
    throw namingPath(err, path);
  } finally {
    closeSync(fd);
  }
}
