/** Composition of the CNI runtime from the global settings. */
import type { Settings } from '../domain/settings.ts';
import type { CniRuntime } from '../ports/cni.ts';
import { ExecaCniRuntime, type ExecaCniRuntimeOptions } from '../adapters/cni/execa-cni-runtime.ts';

export { loadConfDir, loadConfFile } from '../adapters/cni/conf-dir.ts';

export function createCniRuntime(
  settings: Pick<Settings, 'cniPath'>,
  options: Omit<ExecaCniRuntimeOptions, 'cniPath'> = {},
): CniRuntime {
  return new ExecaCniRuntime({ cniPath: settings.cniPath, ...options });
}
