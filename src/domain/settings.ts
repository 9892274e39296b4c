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

/** Environment variable and TOML key for each setting. */
export const SETTING_SOURCES: Record<SettingKey, { env: string; toml: string }> = {
  address: { env: 'CONTAINERD_ADDRESS', toml: 'address' },
  namespace: { env: 'CONTAINERD_NAMESPACE', toml: 'namespace' },
  dataRoot: { env: 'TSNERD_DATA_ROOT', toml: 'data_root' },
  cniPath: { env: 'CNI_PATH', toml: 'cni_path' },
  cniNetconfPath: { env: 'NETCONFPATH', toml: 'cni_netconfpath' },
};

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
  const defaults: Record<SettingKey, string> = {
    address: '/run/containerd/containerd.sock',
    namespace: 'default',
    dataRoot: '/var/lib/tsnerd',
    cniPath: input.defaultCniPath,
    cniNetconfPath: '/etc/cni/net.d',
  };
  const pick = (key: SettingKey): string => {
    const { env, toml } = SETTING_SOURCES[key];
    const fromFile = input.file[toml];
    return (
      nonEmpty(input.flags[key]) ??
      nonEmpty(input.env[env]) ??
      (typeof fromFile === 'string' ? nonEmpty(fromFile) : undefined) ??
      defaults[key]
    );
  };
  const debugFile = input.file['debug'];
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
 * The global flags that differ from their defaults, as CLI arguments: the OCI
 * hook is started with them so it sees the same settings as the command.
 */
export function settingsToArgs(s: Settings): string[] {
  return [
    '--address', s.address,
    '--namespace', s.namespace,
    '--data-root', s.dataRoot,
    '--cni-path', s.cniPath,
    '--cni-netconfpath', s.cniNetconfPath,
    ...(s.debug ? ['--debug'] : []),
  ];
}
