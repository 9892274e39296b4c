/**
 * Container labels: the wire contract between the CLI (which sets them as containerd
 * labels and copies them into the OCI spec's annotations) and the OCI hook (which reads
 * them back from the runtime state). This module is the one place that knows their keys
 * and encodings: `encodeContainerLabels` when a container is created,
 * `decodeContainerLabels` wherever they are read (hook, teardown, inspect, ps). Users may
 * not set labels under the `tsnerd/` prefix.
 */
import { invalid } from './errors.ts';

export const LABEL_PREFIX = 'tsnerd/';
/** nerdctl's own keys (`nerdctl/default-network`, `nerdctl/networks`…): no user may set them either. */
export const NERDCTL_LABEL_PREFIX = 'nerdctl/';

/** The keys, for code that must filter or copy labels; read and write values through the codec. */
export const Labels = {
  /** Container name. */
  name: 'tsnerd/name',
  /** containerd namespace; the CNI container ID is `<namespace>-<id>`. */
  namespace: 'tsnerd/namespace',
  /** Absolute path of the container's state dir (logs, network-config.json). */
  stateDir: 'tsnerd/state-dir',
  /** JSON string[]: the `--net` values, in interface order (eth0, eth1, ...). */
  networks: 'tsnerd/networks',
  /** JSON string[] of "host:ip" from --add-host (host-gateway already resolved). */
  extraHosts: 'tsnerd/extraHosts',
  hostname: 'tsnerd/hostname',
  domainname: 'tsnerd/domainname',
  ip: 'tsnerd/ip',
  ip6: 'tsnerd/ip6',
  macAddress: 'tsnerd/mac-address',
  /** JSON {DNSServers, DNSSearchDomains, DNSResolvConfOptions}: the user's --dns* flags. */
  dns: 'tsnerd/dns',
  /** JSON string[] of "port/proto": the image's exposed ports and --expose's (before: --expose's as given). */
  exposedPorts: 'tsnerd/exposed-ports',
  /** "true" when the container was run with --rm. */
  autoRemove: 'tsnerd/auto-remove',
} as const;

/** The label nerdctl reads a container's networks from (`network rm` in-use check, inspect): JSON string[]. */
export const NERDCTL_NETWORKS_LABEL = 'nerdctl/networks';
/** nerdctl's container name label, shown and matched for nerdctl's containers. */
export const NERDCTL_NAME_LABEL = 'nerdctl/name';
/** nerdctl's namespace label; the CNI container ID of its containers is `<namespace>-<id>`. */
export const NERDCTL_NAMESPACE_LABEL = 'nerdctl/namespace';

/**
 * Who made a container, which decides what tsnerd does to its networking:
 * all of it for its own, what nerdctl itself would do for nerdctl's, nothing
 * for any other tool's.
 */
export type ContainerOwner = 'tsnerd' | 'nerdctl' | 'other';

export function containerOwner(raw: Readonly<Record<string, string>>): ContainerOwner {
  if (hasTsnerdLabels(raw)) return 'tsnerd';
  return Object.hasOwn(raw, NERDCTL_NETWORKS_LABEL) ? 'nerdctl' : 'other';
}

export type LabelKey = (typeof Labels)[keyof typeof Labels];

/** The user's --dns, --dns-search and --dns-opt, as nerdctl names them. */
export interface DnsLabel {
  DNSServers: string[];
  DNSSearchDomains: string[];
  DNSResolvConfOptions: string[];
}

/** What the labels say about a container, decoded and validated. Absent text labels are undefined. */
export interface ContainerLabels {
  name: string | undefined;
  namespace: string | undefined;
  stateDir: string | undefined;
  networks: string[];
  extraHosts: string[];
  hostname: string | undefined;
  domainname: string | undefined;
  ip: string | undefined;
  ip6: string | undefined;
  macAddress: string | undefined;
  dns: DnsLabel | undefined;
  exposedPorts: string[];
  autoRemove: boolean;
}

const TEXT_KEYS = ['name', 'namespace', 'stateDir', 'hostname', 'domainname', 'ip', 'ip6', 'macAddress'] as const;
const LIST_KEYS = ['networks', 'extraHosts', 'exposedPorts'] as const;

/** Labels for the given fields; empty text, empty lists and a false autoRemove are left out. */
export function encodeContainerLabels(fields: Partial<ContainerLabels>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of TEXT_KEYS) {
    const value = fields[key];
    if (value) out[Labels[key]] = value;
  }
  for (const key of LIST_KEYS) {
    const value = fields[key];
    // networks is always written: the hook tells a CNI container from the others by it
    if (value && (value.length > 0 || key === 'networks')) out[Labels[key]] = JSON.stringify(value);
  }
  // nerdctl reads this one (network rm/prune in-use check, inspect's Containers): it sees tsnerd's users.
  if (fields.networks) out[NERDCTL_NETWORKS_LABEL] = JSON.stringify(fields.networks);
  if (fields.dns) out[Labels.dns] = JSON.stringify(fields.dns);
  if (fields.autoRemove) out[Labels.autoRemove] = 'true';
  return out;
}

/** Reads tsnerd's labels (or the annotations the hook sees); a malformed value is an `invalid` error naming its key. */
export function decodeContainerLabels(raw: Readonly<Record<string, string>>): ContainerLabels {
  const text = (key: (typeof TEXT_KEYS)[number]) => raw[Labels[key]] || undefined;
  return {
    name: text('name'),
    namespace: text('namespace'),
    stateDir: text('stateDir'),
    networks: stringList(raw, Labels.networks),
    extraHosts: stringList(raw, Labels.extraHosts),
    hostname: text('hostname'),
    domainname: text('domainname'),
    ip: text('ip'),
    ip6: text('ip6'),
    macAddress: text('macAddress'),
    dns: dnsLabel(raw),
    exposedPorts: stringList(raw, Labels.exposedPorts),
    autoRemove: raw[Labels.autoRemove] === 'true',
  };
}

/** The labels that identify a container (name, namespace, state dir); never throws, for listings. */
export function decodeIdentityLabels(raw: Readonly<Record<string, string>>): Pick<ContainerLabels, 'name' | 'namespace' | 'stateDir'> {
  return {
    name: raw[Labels.name] || undefined,
    namespace: raw[Labels.namespace] || undefined,
    stateDir: raw[Labels.stateDir] || undefined,
  };
}

/** True when the container carries tsnerd's labels (it was created by tsnerd). */
export function hasTsnerdLabels(raw: Readonly<Record<string, string>>): boolean {
  return Object.hasOwn(raw, Labels.networks) || Object.hasOwn(raw, Labels.stateDir);
}

function parseJson(raw: Readonly<Record<string, string>>, key: string, what: string): unknown {
  const value = raw[key];
  if (!value) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw invalid(`label ${key} is not ${what}: ${JSON.stringify(value)}`);
  }
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function stringList(raw: Readonly<Record<string, string>>, key: string): string[] {
  const value = parseJson(raw, key, 'a JSON string array');
  if (value === undefined) return [];
  if (!isStringList(value)) throw invalid(`label ${key} is not a JSON string array: ${JSON.stringify(raw[key])}`);
  return value;
}

function dnsLabel(raw: Readonly<Record<string, string>>): DnsLabel | undefined {
  const what = 'a JSON object of DNSServers, DNSSearchDomains and DNSResolvConfOptions';
  const value = parseJson(raw, Labels.dns, what);
  if (value === undefined) return undefined;
  const fields = ['DNSServers', 'DNSSearchDomains', 'DNSResolvConfOptions'] as const;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`label ${Labels.dns} is not ${what}: ${JSON.stringify(raw[Labels.dns])}`);
  }
  const record = value as Record<string, unknown>;
  const out: DnsLabel = { DNSServers: [], DNSSearchDomains: [], DNSResolvConfOptions: [] };
  for (const field of fields) {
    const list = record[field] ?? [];
    if (!isStringList(list)) throw invalid(`label ${Labels.dns} is not ${what}: ${JSON.stringify(raw[Labels.dns])}`);
    out[field] = list;
  }
  return out;
}
