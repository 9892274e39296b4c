/**
 * Loads the CNI conf dir the nerdctl way: `.conf`, `.conflist` and `.json`
 * files at the top level (visible to every namespace) plus those in
 * `<dir>/<namespace>/`, in lexical path order. A broken file is skipped with a
 * warning naming it, so one bad file never hides the other networks.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { isTsnerdError } from '../../domain/errors.ts';
import { describeErrno } from '../../domain/errno.ts';
import { parseConfigFile, type NetworkConfigList } from '../../domain/cni/net-conf.ts';
import type { LoadedConfigs } from '../../interfaces/cni.ts';

export const CNI_CONF_EXTENSIONS = ['.conf', '.conflist', '.json'] as const;
/** Files read at once: bounded, so a huge conf dir cannot run out of descriptors. */
const READ_BATCH = 64;

export interface LoadConfDirOptions {
  /** Also load `<dir>/<namespace>/`. */
  namespace?: string;
  /**
   * Read with synchronous calls: for the OCI hook, whose few small files each cost four
   * thread-pool round trips and loop turns otherwise, while the hook server runs other requests.
   */
  sync?: boolean;
}

async function confFiles(dir: string, sync = false): Promise<string[]> {
  try {
    const entries = sync ? readdirSync(dir, { withFileTypes: true }) : await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => !e.isDirectory() && CNI_CONF_EXTENSIONS.some((ext) => e.name.endsWith(ext))).map((e) => join(dir, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Reads one file into a list (a `.conf` becomes a one-plugin list). */
export async function loadConfFile(file: string, opts: { sync?: boolean } = {}): Promise<NetworkConfigList> {
  return parseConfigFile(opts.sync ? readFileSync(file, 'utf8') : await readFile(file, 'utf8'), file);
}

export async function loadConfDir(dir: string, opts: LoadConfDirOptions = {}): Promise<LoadedConfigs> {
  const sync = opts.sync ?? false;
  const files = [...(await confFiles(dir, sync)), ...(opts.namespace ? await confFiles(join(dir, opts.namespace), sync) : [])].sort();
  const lists: NetworkConfigList[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  // Read in concurrent batches (one await per file made 500 networks cost ~200 ms), then judged in order.
  const loaded: ({ list: NetworkConfigList } | { err: unknown })[] = [];
  for (let i = 0; i < files.length; i += READ_BATCH) {
    const batch = files.slice(i, i + READ_BATCH);
    loaded.push(
      ...(await Promise.all(
        batch.map((file) =>
          loadConfFile(file, { sync }).then(
            (list) => ({ list }),
            (err: unknown) => ({ err }),
          ),
        ),
      )),
    );
  }
  for (const [i, file] of files.entries()) {
    const r = loaded[i]!;
    if ('err' in r) {
      const err = r.err;
      const reason = isTsnerdError(err)
        ? err.message
        : `cannot read CNI config "${file}": ${describeErrno((err as NodeJS.ErrnoException).code)}`;
      warnings.push(`skipping ${reason}`);
      continue;
    }
    const list = r.list;
    const first = seen.get(list.name);
    if (first !== undefined) {
      warnings.push(`skipping CNI config "${file}": network "${list.name}" is already defined in "${first}"`);
      continue;
    }
    seen.set(list.name, file);
    lists.push(list);
  }
  return { lists, warnings };
}
