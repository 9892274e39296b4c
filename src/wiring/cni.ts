/** Composition of the CNI runtime from the global settings. */
import type { Settings } from '../domain/settings.ts';
import type { CniRuntime } from '../interfaces/cni.ts';
import { ExecCniRuntime, type ExecCniRuntimeOptions } from '../adapters/cni/exec-cni-runtime.ts';

export { loadConfDir, loadConfFile } from '../adapters/cni/conf-dir.ts';

export function createCniRuntime(settings: Pick<Settings, 'cniPath'>, options: Omit<ExecCniRuntimeOptions, 'cniPath'> = {}): CniRuntime {
  return new ExecCniRuntime({ cniPath: settings.cniPath, ...options });
}
