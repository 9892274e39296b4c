/** The VERSION answer and the negotiation rule built on it (libcni pkg/version). */
import { invalid } from '../errors.ts';
import { parseVersion } from './version.ts';

export interface PluginVersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

/** A plugin that predates VERSION speaks only 0.1.0. */
export const LEGACY_VERSION_INFO: PluginVersionInfo = { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] };

export function decodeVersionInfo(stdout: string): PluginVersionInfo {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw invalid(`unreadable VERSION answer ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const { cniVersion, supportedVersions } = (value ?? {}) as Record<string, unknown>;
  if (typeof cniVersion !== 'string' || cniVersion === '') throw invalid('VERSION answer has no cniVersion');
  parseVersion(cniVersion);
  if (Array.isArray(supportedVersions) && supportedVersions.every((v) => typeof v === 'string')) {
    return { cniVersion, supportedVersions };
  }
  // A 0.2.0 plugin may omit the list (libcni PluginDecoder).
  if (cniVersion === '0.2.0') return { cniVersion, supportedVersions: ['0.1.0', '0.2.0'] };
  throw invalid(`VERSION answer for ${cniVersion} has no supportedVersions`);
}

/** libcni compares the exact strings; `""` in a config means 0.1.0. */
export function supportsVersion(info: PluginVersionInfo, configVersion: string): boolean {
  return info.supportedVersions.includes(configVersion === '' ? '0.1.0' : configVersion);
}
