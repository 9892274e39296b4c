/** Reads the I/O side of the global settings: the TOML file and the CNI plugin dirs. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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
import { describeErrno } from '../../domain/errno.ts';
import { quote } from '../../domain/text.ts';
import { requestCwd, requestEnv } from './request-env.ts';

export type SettingFlags = Partial<Record<SettingKey, string | undefined>> & { debug?: boolean | undefined };

export function loadSettings(flags: SettingFlags, env: Readonly<Record<string, string | undefined>> = requestEnv()): Settings {
  const cwd = requestCwd();
  const fileName = env[CONFIG_FILE_ENV] || DEFAULT_CONFIG_FILE;
  const settings = resolveSettings({
    flags,
    env,
    fileName: `config file ${quote(fileName)}`,
    file: readConfigFile(fileName, env[CONFIG_FILE_ENV] !== undefined),
    defaultCniPath: DEFAULT_CNI_PATH_CANDIDATES.find((d) => existsSync(d)) ?? DEFAULT_CNI_PATH_CANDIDATES[0]!,
  });
  // The OCI hook runs in the bundle dir, not here: relative paths would name other dirs there.
  return {
    ...settings,
    dataRoot: resolve(cwd, settings.dataRoot),
    cniNetconfPath: resolve(cwd, settings.cniNetconfPath),
    cniPath: settings.cniPath
      .split(':')
      .map((p) => (p === '' ? p : resolve(cwd, p)))
      .join(':'),
  };
}

function readConfigFile(path: string, explicit: boolean): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return {};
    throw invalid(`cannot read config file ${quote(path)}: ${describeErrno(code)}`, { cause: err });
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const { line, column } = err as { line?: number; column?: number };
    const at = line === undefined ? '' : ` at line ${line}${column === undefined ? '' : `, column ${column}`}`;
    throw invalid(`config file ${quote(path)} is not valid TOML${at}`, { cause: err });
  }
}
