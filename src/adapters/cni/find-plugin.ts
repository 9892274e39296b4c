/** Plugin lookup across the CNI_PATH dirs (libcni pkg/invoke/find.go). */
import { statSync } from 'node:fs';
import { join } from 'node:path';

import { TsnerdError, invalid } from '../../domain/errors.ts';

/** `--cni-path` / CNI_PATH is colon-separated like PATH. */
export function splitCniPath(cniPath: string | readonly string[]): string[] {
  const dirs = typeof cniPath === 'string' ? cniPath.split(':') : [...cniPath];
  return dirs.filter((d) => d !== '');
}

/**
 * The first regular file `<dir>/<type>`; the exec bit is left for exec to judge, as libcni does.
 * A sync stat: microseconds, where an async one waits for the thread pool before every plugin.
 */
export async function findPlugin(pluginType: string, dirs: readonly string[]): Promise<string> {
  if (pluginType === '' || pluginType.includes('/')) throw invalid(`invalid plugin name "${pluginType}"`);
  for (const dir of dirs) {
    const path = join(dir, pluginType);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // not in this dir
    }
  }
  throw new TsnerdError('precondition', `CNI plugin "${pluginType}" not found in ${JSON.stringify(dirs)}`, {
    details: { pluginType, dirs },
  });
}
