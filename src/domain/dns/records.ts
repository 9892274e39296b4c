/**
 * The DNS record set: what the embedded resolver serves, one document per data
 * store (`<root>/dns/records.json`, kept in lowdb by the OCI hook). Networks
 * are listed while at least one endpoint uses them, keyed
 * `<namespace>/<network>`: user-defined networks belong to a containerd
 * namespace (their conflists live in `<netconfpath>/<namespace>/`, as in
 * nerdctl ≥ 2.0), so two namespaces' networks of one name are two networks,
 * each with its own names (docs/dns.md). An endpoint is one container on one
 * network, keyed `<namespace>/<id>/<network>`.
 */
import type { DnsInputSpec } from '../netfilter/dns-input.ts';

export interface DnsNetworkRecord {
  /** Addresses the resolver listens on (the bridge's gateway addresses). */
  gateways: string[];
  /** `--internal`: names of the network only, nothing is forwarded. */
  internal: boolean;
  /**
   * The port the resolver listens on at the gateways when not 53 (`dns_bind_port`: the containers
   * still ask port 53, which a DNAT rule takes there). Fixed while the network has containers.
   */
  port?: number;
}

export interface DnsEndpointRecord {
  network: string;
  namespace: string;
  id: string;
  /** Container name, hostname, short ID and aliases, as given (matched case-insensitively). */
  names: string[];
  /** Aliases on this network: several containers may share one (answered round-robin). */
  aliases: string[];
  ips: string[];
}

export interface DnsRecordSet {
  /** By networkKey(namespace, network). */
  networks: Record<string, DnsNetworkRecord>;
  endpoints: Record<string, DnsEndpointRecord>;
}

/**
 * Checks the shape of a record set read from disk. Written by hand rather than
 * with zod: the resolver loads this module, and zod costs it ~15 MB of RSS.
 */
export function parseRecordSet(value: unknown): DnsRecordSet {
  const set = object(value, 'record set');
  const networks = object(set['networks'] ?? {}, 'networks');
  const endpoints = object(set['endpoints'] ?? {}, 'endpoints');
  for (const [name, n] of Object.entries(networks)) {
    const net = object(n, `network "${name}"`);
    strings(net['gateways'], `network "${name}" gateways`);
    if (typeof net['internal'] !== 'boolean') throw new Error(`network "${name}": internal is not a boolean`);
    const port = net['port'];
    if (port !== undefined && !(Number.isInteger(port) && (port as number) > 0 && (port as number) <= 65535))
      throw new Error(`network "${name}": port is not a port number`);
  }
  for (const [key, e] of Object.entries(endpoints)) {
    const ep = object(e, `endpoint "${key}"`);
    for (const field of ['network', 'namespace', 'id']) {
      if (typeof ep[field] !== 'string') throw new Error(`endpoint "${key}": ${field} is not a string`);
    }
    for (const field of ['names', 'aliases', 'ips']) strings(ep[field], `endpoint "${key}" ${field}`);
  }
  return withNamespacedNetworks({ networks, endpoints } as DnsRecordSet);
}

/**
 * A record set written before networks were keyed by namespace has them by
 * name alone: each such record goes to every `<namespace>/<name>` its
 * endpoints use.
 */
function withNamespacedNetworks(set: DnsRecordSet): DnsRecordSet {
  const legacy = Object.keys(set.networks).filter((key) => !key.includes('/'));
  if (legacy.length === 0) return set;
  const networks = { ...set.networks };
  for (const name of legacy) {
    for (const e of Object.values(set.endpoints)) {
      if (e.network === name) networks[networkKey(e.namespace, name)] ??= set.networks[name]!;
    }
    delete networks[name];
  }
  return { networks, endpoints: set.endpoints };
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function strings(value: unknown, what: string): void {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${what} is not a list of strings`);
}

export function emptyRecordSet(): DnsRecordSet {
  return { networks: {}, endpoints: {} };
}

export function networkKey(namespace: string, network: string): string {
  return `${namespace}/${network}`;
}

export function endpointKey(namespace: string, id: string, network: string): string {
  return `${namespace}/${id}/${network}`;
}

/** What a container brings to the record set when it starts. */
export interface DnsJoin {
  namespace: string;
  id: string;
  endpoints: {
    network: string;
    record: DnsNetworkRecord;
    names: string[];
    aliases: string[];
    ips: string[];
    /** The network's DNS rules in INPUT (not recorded here: made when the network enters the records). */
    rules?: DnsInputSpec;
  }[];
}

/** Replaces the container's endpoints with `join`'s (a restart re-joins with new IPs). */
export function applyJoin(set: DnsRecordSet, join: DnsJoin): DnsRecordSet {
  const next = applyLeave(set, join.namespace, join.id);
  for (const e of join.endpoints) {
    next.networks[networkKey(join.namespace, e.network)] = e.record;
    next.endpoints[endpointKey(join.namespace, join.id, e.network)] = {
      network: e.network,
      namespace: join.namespace,
      id: join.id,
      names: unique(e.names),
      aliases: unique(e.aliases),
      ips: e.ips,
    };
  }
  return next;
}

/** Drops the container's endpoints, and the networks no endpoint uses any more. */
export function applyLeave(set: DnsRecordSet, namespace: string, id: string): DnsRecordSet {
  const prefix = `${namespace}/${id}/`;
  const endpoints = Object.fromEntries(Object.entries(set.endpoints).filter(([key]) => !key.startsWith(prefix)));
  const used = new Set(Object.values(endpoints).map((e) => networkKey(e.namespace, e.network)));
  const networks = Object.fromEntries(Object.entries(set.networks).filter(([key]) => used.has(key)));
  return { networks, endpoints };
}

export function hasEndpoints(set: DnsRecordSet): boolean {
  return Object.keys(set.endpoints).length > 0;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names.filter((n) => n !== ''))];
}

/**
 * The other hosts' names on one overlay network (docs/dns.md, "Names across hosts"): the
 * containers of other hosts as they publish them in etcd, kept for the resolver by this
 * host's overlay agent of that network (src/app/overlay/names.ts) in a lowdb document of its
 * own, `<dns dir>/remote-<namespace>%2F<network>.json`. The resolver answers them with the
 * local network's names; they are never this host's containers (not in `endpoints`, not a
 * reason for the resolver to run, not the source of a query).
 */
export interface RemoteRecordSet {
  /** networkKey(namespace, network) of the network on this host. */
  network: string;
  /** By the record's etcd key below the network's names prefix (`<host>/<namespace>/<id>`). */
  endpoints: Record<string, RemoteEndpointRecord>;
}

export interface RemoteEndpointRecord {
  names: string[];
  aliases: string[];
  ips: string[];
}

const REMOTE_FILE_PREFIX = 'remote-';

/** The file of one network's remote names in the dns dir. */
export function remoteRecordsFile(namespace: string, network: string): string {
  return `${REMOTE_FILE_PREFIX}${encodeURIComponent(networkKey(namespace, network))}.json`;
}

export function isRemoteRecordsFile(name: string): boolean {
  return name.startsWith(REMOTE_FILE_PREFIX) && name.endsWith('.json') && !name.startsWith('.');
}

/** The network a remote records file is for (remoteRecordsFile's inverse); undefined for another name. */
export function remoteRecordsFileNetwork(name: string): { namespace: string; network: string } | undefined {
  if (!isRemoteRecordsFile(name)) return undefined;
  let key: string;
  try {
    key = decodeURIComponent(name.slice(REMOTE_FILE_PREFIX.length, -'.json'.length));
  } catch {
    return undefined;
  }
  const slash = key.indexOf('/');
  if (slash <= 0 || slash === key.length - 1) return undefined;
  return { namespace: key.slice(0, slash), network: key.slice(slash + 1) };
}

/** A published (etcd) or stored (file) endpoint's fields; throws on anything else. */
export function parseRemoteEndpoint(value: unknown, what: string): RemoteEndpointRecord {
  const ep = object(value, what);
  for (const field of ['names', 'aliases', 'ips']) strings(ep[field], `${what} ${field}`);
  return { names: ep['names'] as string[], aliases: ep['aliases'] as string[], ips: ep['ips'] as string[] };
}

export function parseRemoteRecordSet(value: unknown): RemoteRecordSet {
  const set = object(value, 'remote record set');
  if (typeof set['network'] !== 'string') throw new Error('remote record set: network is not a string');
  const endpoints: Record<string, RemoteEndpointRecord> = {};
  for (const [key, e] of Object.entries(object(set['endpoints'] ?? {}, 'endpoints')))
    endpoints[key] = parseRemoteEndpoint(e, `endpoint "${key}"`);
  return { network: set['network'], endpoints };
}
