/** CNI_ARGS (SPEC §2, CONVENTIONS.md): `K1=V1;K2=V2`, parsed by plugins with types.LoadArgs. */
import { invalid } from '../errors.ts';

export type CniArgs = ReadonlyArray<readonly [string, string]>;

/**
 * Plugins split on `;` and then require exactly one `=`, so neither may
 * appear inside a key, nor `;`/`=` inside a value.
 */
export function formatCniArgs(args: CniArgs | undefined): string {
  return (args ?? [])
    .map(([key, value]) => {
      if (key === '' || /[;=]/.test(key)) throw invalid(`invalid CNI_ARGS key "${key}"`);
      if (/[;=]/.test(value)) throw invalid(`invalid CNI_ARGS value "${value}" for key "${key}"`);
      return `${key}=${value}`;
    })
    .join(';');
}
