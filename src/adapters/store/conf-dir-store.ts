/** The CNI conf dir (NETCONFPATH) as the store of network definitions. */
import { statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { conflict, isTsnerdError } from '../../domain/errors.ts';
import { describeErrno } from '../../domain/errno.ts';
import { AnyConflist } from '../../domain/network/conflist-schema.ts';
import { LOCK_FILE } from '../../domain/network/constants.ts';
import type { ConfFile, NetworkConfDir } from '../../interfaces/network-conf-dir.ts';
import { loadConfDir, loadConfFile } from '../cni/conf-dir.ts';
import { withLockedFile } from './flock.ts';

export class ConfDirStore implements NetworkConfDir {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Read with synchronous calls, as loadConfDir reads. */
  async list(namespace: string): Promise<{ files: ConfFile[]; warnings: string[] }> {
    const { lists, warnings } = loadConfDir(this.dir, { namespace });
    const files: ConfFile[] = [];
    for (const list of lists) {
      const parsed = AnyConflist.safeParse(list.raw);
      if (!parsed.success || list.file === undefined) {
        warnings.push(`skipping CNI config "${list.file}": not a network definition`);
        continue;
      }
      const mtime = mtimeOf(list.file);
      if (mtime) files.push({ path: list.file, conflist: parsed.data, modified: mtime });
    }
    return { files, warnings };
  }

  async explain(path: string): Promise<string | undefined> {
    let list;
    try {
      list = loadConfFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return isTsnerdError(err) ? err.message : `cannot read CNI config "${path}": ${describeErrno((err as NodeJS.ErrnoException).code)}`;
    }
    return AnyConflist.safeParse(list.raw).success ? undefined : `CNI config "${path}" is not a network definition`;
  }

  async create(path: string, content: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    try {
      await writeFile(path, content, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw conflict(`"${path}" already exists`, { cause: err });
      throw err;
    }
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  /** nerdctl's lock of the conf dir (NETCONFPATH/.nerdctl.lock). */
  get lockFile(): string {
    return join(this.dir, LOCK_FILE);
  }

  withLock<T>(fn: () => Promise<T>, opts: { shared?: boolean } = {}): Promise<T> {
    return withLockedFile(this.lockFile, fn, opts);
  }
}

/** A file's mtime; undefined when it cannot be stat'ed (gone since the listing). */
function mtimeOf(file: string): Date | undefined {
  try {
    return statSync(file).mtime;
  } catch {
    return undefined;
  }
}
