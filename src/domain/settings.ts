/**
 * Global settings shared by every command and by the OCI hook.
 * Precedence: flag > environment > config file > default (as nerdctl).
 */
import { createHash } from 'node:crypto';

export interface Settings {
  address: string;
  namespace: string;
  dataRoot: string;
  cniPath: string;
  cniNetconfPath: string;
  debug: boolean;
}

export type SettingKey = Exclude<keyof Settings, 'debug'>;

/** One global setting: its flag (with short letter and aliases), environment variable, TOML key and default. */
export interface SettingSpec {
  key: SettingKey;
  flag: string;
  char?: string;
  charAliases?: readonly string[];
  aliases?: readonly string[];
  env: string;
  toml: string;
  /** undefined: found at run time (the first existing CNI plugin dir). */
  default: string | undefined;
  summary: string;
}

/**
 * The one table of global settings. The oclif flags (cli/base-command.ts), the fast
 * path's and the argv hoister's flag names (cli/global-flags.ts, cli/argv.ts), the
 * hook's argument parser (hook/args.ts), the resolution below and the arguments the
 * hook is started with are all derived from it.
 */
export const SETTINGS = [
  { key: 'address', flag: 'address', char: 'a', charAliases: ['H'], aliases: ['host'], env: 'CONTAINERD_ADDRESS', toml: 'address', default: '/run/containerd/containerd.sock', summary: 'containerd address' },
  { key: 'namespace', flag: 'namespace', char: 'n', env: 'CONTAINERD_NAMESPACE', toml: 'namespace', default: 'default', summary: 'containerd namespace' },
  { key: 'dataRoot', flag: 'data-root', env: 'TSNERD_DATA_ROOT', toml: 'data_root', default: '/var/lib/tsnerd', summary: 'root of tsnerd persistent state' },
  { key: 'cniPath', flag: 'cni-path', env: 'CNI_PATH', toml: 'cni_path', default: undefined, summary: 'CNI plugin binary dirs' },
  { key: 'cniNetconfPath', flag: 'cni-netconfpath', env: 'NETCONFPATH', toml: 'cni_netconfpath', default: '/etc/cni/net.d', summary: 'CNI config dir' },
] as const satisfies readonly SettingSpec[];

/** The boolean global flag, also readable as `debug = true` in the TOML file. */
export const DEBUG_SETTING = { flag: 'debug', toml: 'debug', summary: 'debug output, stack traces on errors' } as const;

export type SettingFlag = (typeof SETTINGS)[number]['flag'];

/** Every command-line spelling of the global settings that take a value (`--address`, `-a`, `-H`, `--host`, ...). */
export function settingSpellings(): Map<string, SettingKey> {
  const out = new Map<string, SettingKey>();
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    out.set(`--${spec.flag}`, spec.key);
    for (const alias of spec.aliases ?? []) out.set(`--${alias}`, spec.key);
    for (const c of [spec.char, ...(spec.charAliases ?? [])]) if (c) out.set(`-${c}`, spec.key);
  }
  return out;
}

export const DEFAULT_CONFIG_FILE = '/etc/tsnerd/tsnerd.toml';
export const CONFIG_FILE_ENV = 'TSNERD_TOML';
export const DEFAULT_CNI_PATH_CANDIDATES = ['/opt/cni/bin', '/usr/libexec/cni', '/usr/lib/cni'];

export interface SettingsInput {
  flags: Partial<Record<SettingKey, string | undefined>> & { debug?: boolean | undefined };
  env: Record<string, string | undefined>;
  file: Partial<Record<string, unknown>>;
  /** First existing CNI plugin dir, found by the caller (an I/O question). */
  defaultCniPath: string;
}

export function resolveSettings(input: SettingsInput): Settings {
  const pick = (key: SettingKey): string => {
    const spec = (SETTINGS as readonly SettingSpec[]).find((s) => s.key === key)!;
    const fromFile = input.file[spec.toml];
    return (
      nonEmpty(input.flags[key]) ??
      nonEmpty(input.env[spec.env]) ??
      (typeof fromFile === 'string' ? nonEmpty(fromFile) : undefined) ??
      spec.default ??
      input.defaultCniPath
    );
  };
  const debugFile = input.file[DEBUG_SETTING.toml];
  return {
    address: stripUnixScheme(pick('address')),
    namespace: pick('namespace'),
    dataRoot: pick('dataRoot'),
    cniPath: pick('cniPath'),
    cniNetconfPath: pick('cniNetconfPath'),
    debug: input.flags.debug === true || debugFile === true,
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

export function stripUnixScheme(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}

/** First 8 hex of sha256 of the containerd address: the data store's per-daemon folder. */
export function addressHash(address: string): string {
  return createHash('sha256').update(stripUnixScheme(address)).digest('hex').slice(0, 8);
}

/**
 * Every resolved setting as `--flag value` arguments, which the OCI hook is started
 * with after its event (`internal oci-hook createRuntime --address ... --debug`): the
 * hook then sees exactly the command's settings, whatever its environment or the TOML
 * file say when runc starts it.
 */
export function settingsToArgs(s: Settings): string[] {
  return [...SETTINGS.flatMap((spec) => [`--${spec.flag}`, s[spec.key]]), ...(s.debug ? [`--${DEBUG_SETTING.flag}`] : [])];
}
