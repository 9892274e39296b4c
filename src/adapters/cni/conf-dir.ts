/**
 * Loads the CNI conf dir the nerdctl way: `.conf`, `.conflist` and `.json`
 * files at the top level (visible to every namespace) plus those in
 * `<dir>/<namespace>/`, in lexical path order. A broken file is skipped with a
 * warning naming it, so one bad file never hides the other networks.
 *
 * Read with synchronous calls, one small file after the other: an async read is four
 * thread-pool round trips and loop turns per file (open, fstat, read, close). The OCI hook
 * reads the conf dir on every start, while the hook server runs other requests; `network ls`
 * of 500 networks is no slower so (docs/performance.md).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { isTsnerdError } from '../../domain/errors.ts';
import { describeErrno } from '../../domain/errno.ts';
import { parseConfigFile, type NetworkConfigList } from '../../domain/cni/net-conf.ts';
import type { LoadedConfigs } from '../../interfaces/cni.ts';

export const CNI_CONF_EXTENSIONS = ['.conf', '.conflist', '.json'] as const;

export interface LoadConfDirOptions {
  /** Also load `<dir>/<namespace>/`. */
  namespace?: string;
}

function confFiles(dir: string): string[] {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return entries.filter((e) => !e.isDirectory() && CNI_CONF_EXTENSIONS.some((ext) => e.name.endsWith(ext))).map((e) => join(dir, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Reads one file into a list (a `.conf` becomes a one-plugin list). */
export function loadConfFile(file: string): NetworkConfigList {
  return parseConfigFile(readFileSync(file, 'utf8'), file);
}

export function loadConfDir(dir: string, opts: LoadConfDirOptions = {}): LoadedConfigs {
  const files = [...confFiles(dir), ...(opts.namespace ? confFiles(join(dir, opts.namespace)) : [])].sort();
  const lists: NetworkConfigList[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    let list: NetworkConfigList;
    try {
      list = loadConfFile(file);
    } catch (err) {
      const reason = isTsnerdError(err)
        ? err.message
        : `cannot read CNI config "${file}": ${describeErrno((err as NodeJS.ErrnoException).code)}`;
      warnings.push(`skipping ${reason}`);
      continue;
    }
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
