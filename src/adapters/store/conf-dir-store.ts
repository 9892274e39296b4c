/** The CNI conf dir (NETCONFPATH) as the store of network definitions. */
import { statSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
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
  private readonly sync: boolean;

  /** `sync`: the listing read with synchronous calls (loadConfDir's `sync`: the OCI hook's). */
  constructor(dir: string, opts: { sync?: boolean } = {}) {
    this.dir = dir;
    this.sync = opts.sync ?? false;
  }

  async list(namespace: string): Promise<{ files: ConfFile[]; warnings: string[] }> {
    const { lists, warnings } = await loadConfDir(this.dir, { namespace, sync: this.sync });
    const files: ConfFile[] = [];
    const modified = await Promise.all(
      lists.map((l) =>
        l.file === undefined
          ? undefined
          : this.sync
            ? mtimeSync(l.file)
            : stat(l.file).then(
                (s) => s.mtime,
                () => undefined,
              ),
      ),
    );
    for (const [i, list] of lists.entries()) {
      const parsed = AnyConflist.safeParse(list.raw);
      if (!parsed.success || list.file === undefined) {
        warnings.push(`skipping CNI config "${list.file}": not a network definition`);
        continue;
      }
      const mtime = modified[i];
      if (mtime) files.push({ path: list.file, conflist: parsed.data, modified: mtime });
    }
    return { files, warnings };
  }

  async explain(path: string): Promise<string | undefined> {
    let list;
    try {
      list = await loadConfFile(path);
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

/** A file's mtime; undefined when it cannot be stat'ed (gone since the listing), as the async listing's. */
function mtimeSync(file: string): Date | undefined {
  try {
    return statSync(file).mtime;
  } catch {
    return undefined;
  }
}
