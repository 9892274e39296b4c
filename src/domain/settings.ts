/**
 * Global settings shared by every command and by the OCI hook.
 * Precedence: flag > environment > config file > default (as nerdctl).
 */
import { invalid } from './errors.ts';
import { sha256Hex } from './sha256.ts';
import { hasControlCharacter, quote } from './text.ts';

export interface Settings {
  address: string;
  namespace: string;
  dataRoot: string;
  cniPath: string;
  cniNetconfPath: string;
  /** `--bridge-ip`: gateway/prefix of the default network when it is created (nerdctl's flag); unset: 10.4.0.1/24. */
  bridgeIp?: string | undefined;
  /** `--host-gateway-ip`: what `--add-host NAME:host-gateway` means (nerdctl's flag); unset: the host's first non-loopback IPv4. */
  hostGatewayIp?: string | undefined;
  /**
   * nerdctl's global DNS settings (`dns`, `dns_search`, `dns_opts` in the TOML file): what a
   * container gets for each of `--dns`, `--dns-search`, `--dns-opt` not given. Set only when the file has one.
   */
  globalDns?: GlobalDns | undefined;
  /**
   * `--dns-bind-port` (Podman's `dns_bind_port` of containers.conf): the port the embedded resolver
   * listens on at the gateways of the networks whose first container starts with it, the
   * containers' port 53 taken there by a DNAT rule (docs/dns.md); unset: 53. A port number, as text.
   */
  dnsBindPort?: string | undefined;
  debug: boolean;
}

export interface GlobalDns {
  servers: string[];
  search: string[];
  options: string[];
}

/** The TOML keys of GlobalDns (nerdctl's names). */
const GLOBAL_DNS_KEYS = { servers: 'dns', search: 'dns_search', options: 'dns_opts' } as const;

export type SettingKey = Exclude<keyof Settings, 'debug' | 'globalDns'>;

/** One global setting: its flag (with short letter and aliases), environment variable, TOML key and default. */
export interface SettingSpec {
  key: SettingKey;
  flag: string;
  char?: string;
  charAliases?: readonly string[];
  aliases?: readonly string[];
  env: string;
  toml: string;
  /** undefined: found at run time (the first existing CNI plugin dir), or unset if `optional`. */
  default: string | undefined;
  /** A setting that may stay unset (no default). */
  optional?: boolean;
  /** The TOML file may give it as an integer too (Podman's containers.conf writes `dns_bind_port = 1153`). */
  integerInFile?: boolean;
  summary: string;
}

/**
 * The one table of global settings. The oclif flags (cli/base-command.ts), the fast
 * path's and the argv hoister's flag names (cli/global-flags.ts, cli/argv.ts), the
 * hook's argument parser (hook/args.ts), the resolution below and the arguments the
 * hook is started with are all derived from it.
 */
export const SETTINGS = [
  {
    key: 'address',
    flag: 'address',
    char: 'a',
    charAliases: ['H'],
    aliases: ['host'],
    env: 'CONTAINERD_ADDRESS',
    toml: 'address',
    default: '/run/containerd/containerd.sock',
    summary: 'containerd address',
  },
  {
    key: 'namespace',
    flag: 'namespace',
    char: 'n',
    env: 'CONTAINERD_NAMESPACE',
    toml: 'namespace',
    default: 'default',
    summary: 'containerd namespace',
  },
  {
    key: 'dataRoot',
    flag: 'data-root',
    env: 'TSNERD_DATA_ROOT',
    toml: 'data_root',
    default: '/var/lib/tsnerd',
    summary: 'root of tsnerd persistent state',
  },
  { key: 'cniPath', flag: 'cni-path', env: 'CNI_PATH', toml: 'cni_path', default: undefined, summary: 'CNI plugin binary dirs' },
  {
    key: 'cniNetconfPath',
    flag: 'cni-netconfpath',
    env: 'NETCONFPATH',
    toml: 'cni_netconfpath',
    default: '/etc/cni/net.d',
    summary: 'CNI config dir',
  },
  {
    // nerdctl's variable: the default network's file is shared by both tools, so is its setting
    key: 'bridgeIp',
    flag: 'bridge-ip',
    env: 'NERDCTL_BRIDGE_IP',
    toml: 'bridge_ip',
    default: undefined,
    optional: true,
    summary: 'gateway and subnet of the default network when it is created, e.g. 10.1.100.1/24',
  },
  {
    key: 'hostGatewayIp',
    flag: 'host-gateway-ip',
    env: 'NERDCTL_HOST_GATEWAY_IP',
    toml: 'host_gateway_ip',
    default: undefined,
    optional: true,
    summary: "the address --add-host NAME:host-gateway stands for (default: the host's first non-loopback IPv4)",
  },
  {
    // Podman's containers.conf key; nerdctl has no such setting, so the variable is tsnerd's
    key: 'dnsBindPort',
    flag: 'dns-bind-port',
    env: 'TSNERD_DNS_BIND_PORT',
    toml: 'dns_bind_port',
    default: undefined,
    optional: true,
    integerInFile: true,
    summary: "port of the embedded DNS resolver on the gateways, reached from the containers' port 53 by a DNAT rule (default: 53)",
  },
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
  /** The config file's path, for messages. */
  fileName?: string | undefined;
}

/** containerd's rule for namespaces (pkg/identifiers): also part of paths and of the CNI container ID. */
const NAMESPACE_PATTERN = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const MAX_NAMESPACE_LENGTH = 76;

export function resolveSettings(input: SettingsInput): Settings {
  const fileName = input.fileName ?? 'the config file';
  // Set but empty is an error, not "unset": `CONTAINERD_ADDRESS=` must not reach the system socket
  // (nerdctl, too, fails on it: it tries to connect to "").
  // The file is checked whole, whatever overrides it: a mistake in it shows at once.
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const fromFile = input.file[spec.toml];
    if (fromFile === undefined) continue;
    if (spec.integerInFile && typeof fromFile === 'number') continue; // checked as a port below
    if (typeof fromFile !== 'string') throw invalid(`invalid ${quote(spec.toml)} in ${fileName}: must be a string`);
    checked(`${quote(spec.toml)} in ${fileName}`, fromFile);
  }
  const sourceOf = (spec: SettingSpec): string =>
    input.flags[spec.key] !== undefined
      ? `--${spec.flag}`
      : input.env[spec.env] !== undefined
        ? `environment variable ${spec.env}`
        : `${quote(spec.toml)} in ${fileName}`;
  const pickOptional = (key: SettingKey): string | undefined => {
    const spec = (SETTINGS as readonly SettingSpec[]).find((s) => s.key === key)!;
    const flag = input.flags[key];
    if (flag !== undefined) return checked(`--${spec.flag}`, flag);
    const fromEnv = input.env[spec.env];
    if (fromEnv !== undefined) return checked(`environment variable ${spec.env}`, fromEnv);
    const fromFile = input.file[spec.toml];
    return fromFile === undefined ? spec.default : String(fromFile as string | number);
  };
  const pick = (key: SettingKey): string => pickOptional(key) ?? input.defaultCniPath;
  const debugFile = input.file[DEBUG_SETTING.toml];
  if (debugFile !== undefined && typeof debugFile !== 'boolean') throw invalid(`invalid "debug" in ${fileName}: must be true or false`);
  const namespace = pick('namespace');
  if (!NAMESPACE_PATTERN.test(namespace) || namespace.length > MAX_NAMESPACE_LENGTH) {
    throw invalid(
      `invalid namespace ${quote(namespace)}: must match ${NAMESPACE_PATTERN.source} and have at most ${MAX_NAMESPACE_LENGTH} characters`,
    );
  }
  const globalDns = globalDnsOf(input.file, fileName);
  const bridgeIp = pickOptional('bridgeIp');
  const hostGatewayIp = pickOptional('hostGatewayIp');
  const dnsBindPort = pickOptional('dnsBindPort');
  if (dnsBindPort !== undefined && !isPort(dnsBindPort)) {
    const spec = (SETTINGS as readonly SettingSpec[]).find((s) => s.key === 'dnsBindPort')!;
    throw invalid(`invalid ${sourceOf(spec)}: ${quote(dnsBindPort)} is not a port number (1-65535)`);
  }
  return {
    address: stripUnixScheme(pick('address')),
    namespace,
    dataRoot: pick('dataRoot'),
    cniPath: pick('cniPath'),
    cniNetconfPath: pick('cniNetconfPath'),
    ...(bridgeIp === undefined ? {} : { bridgeIp }),
    ...(hostGatewayIp === undefined ? {} : { hostGatewayIp }),
    ...(globalDns === undefined ? {} : { globalDns }),
    ...(dnsBindPort === undefined ? {} : { dnsBindPort: String(Number(dnsBindPort)) }),
    debug: input.flags.debug === true || debugFile === true,
  };
}

function globalDnsOf(file: Partial<Record<string, unknown>>, fileName: string): GlobalDns | undefined {
  const list = (key: string): string[] => {
    const value = file[key];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw invalid(`invalid ${quote(key)} in ${fileName}: must be an array of strings`);
    }
    for (const v of value) checked(`${quote(key)} in ${fileName}`, v);
    return value;
  };
  const dns = { servers: list(GLOBAL_DNS_KEYS.servers), search: list(GLOBAL_DNS_KEYS.search), options: list(GLOBAL_DNS_KEYS.options) };
  return Object.values(GLOBAL_DNS_KEYS).some((k) => file[k] !== undefined) ? dns : undefined;
}

function isPort(value: string): boolean {
  return /^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535;
}

function checked(source: string, value: string): string {
  if (value === '') throw invalid(`${source} is set but empty`);
  if (hasControlCharacter(value)) throw invalid(`invalid ${source} ${quote(value)}: contains a control character`);
  return value;
}

export function stripUnixScheme(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}

/** First 8 hex of sha256 of the containerd address: the data store's per-daemon folder. */
export function addressHash(address: string): string {
  return sha256Hex(stripUnixScheme(address)).slice(0, 8);
}

/**
 * Every resolved setting as `--flag value` arguments, which the OCI hook is started
 * with after its event (`internal oci-hook createRuntime --address ... --debug`): the
 * hook then sees exactly the command's settings, whatever its environment or the TOML
 * file say when runc starts it.
 */
export function settingsToArgs(s: Settings): string[] {
  return [
    ...SETTINGS.flatMap((spec) => {
      const value = s[spec.key];
      return value === undefined ? [] : [`--${spec.flag}`, value];
    }),
    ...(s.debug ? [`--${DEBUG_SETTING.flag}`] : []),
  ];
}
