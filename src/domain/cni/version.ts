/** CNI spec versions: parsing, ordering and the runtime's version selection (libcni pkg/version). */
import { invalid } from '../errors.ts';

/** The newest spec version this runtime implements. */
export const CURRENT_CNI_VERSION = '1.1.0';

/** Every spec version this runtime can read results of and send configs in. */
export const SUPPORTED_CNI_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

type Triple = [number, number, number];

/** `""` means 0.1.0, as in libcni (a config without cniVersion predates the field). */
export function parseVersion(version: string): Triple {
  if (version === '') return [0, 1, 0];
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(version);
  if (!m) throw invalid(`invalid CNI version "${version}"`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  for (let i = 0; i < 3; i++) {
    const d = x[i]! - y[i]!;
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export const versionAtLeast = (version: string, min: string): boolean => compareVersions(version, min) >= 0;

/**
 * Spec 1.1: the runtime picks the highest of `cniVersions` ∪ `cniVersion` it
 * supports. Without `cniVersions`, `cniVersion` is used as written (libcni).
 */
export function selectVersion(cniVersion: string | undefined, cniVersions: string[] | undefined): string {
  if (cniVersions === undefined) return cniVersion ?? '';
  const candidates = [...cniVersions, ...(cniVersion ? [cniVersion] : [])];
  for (const v of candidates) parseVersion(v);
  const usable = candidates.filter((v) => compareVersions(v, CURRENT_CNI_VERSION) <= 0);
  return usable.sort(compareVersions).at(-1) ?? '';
}
