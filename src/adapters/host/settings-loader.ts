/** Reads the I/O side of the global settings: the TOML file and the CNI plugin dirs. */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import {
  CONFIG_FILE_ENV,
  DEFAULT_CNI_PATH_CANDIDATES,
  DEFAULT_CONFIG_FILE,
  resolveSettings,
  type SettingKey,
  type Settings,
} from '../../domain/settings.ts';
import { invalid } from '../../domain/errors.ts';

export type SettingFlags = Partial<Record<SettingKey, string | undefined>> & { debug?: boolean | undefined };

export function loadSettings(
  flags: SettingFlags,
  env: Record<string, string | undefined> = process.env,
): Settings {
  return resolveSettings({
    flags,
    env,
    file: readConfigFile(env[CONFIG_FILE_ENV] || DEFAULT_CONFIG_FILE, env[CONFIG_FILE_ENV] !== undefined),
    defaultCniPath: DEFAULT_CNI_PATH_CANDIDATES.find((d) => existsSync(d)) ?? DEFAULT_CNI_PATH_CANDIDATES[0]!,
  });
}

function readConfigFile(path: string, explicit: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw invalid(`cannot read config file "${path}": ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw invalid(`config file "${path}" is not valid TOML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
