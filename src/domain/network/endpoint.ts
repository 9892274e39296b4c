/**
 * A container's attachments to CNI networks ("endpoints", in Docker's words):
 * which network, on which interface, with which aliases and requested
 * addresses. `run`/`create` record the networks given with `--net`, `network
 * connect` adds one, `network disconnect` removes one; the createRuntime hook
 * attaches exactly these at every start, and stop/rm/postStop detach them.
 *
 * They are kept in the container's state dir (`endpoints.json`, see
 * ContainerStateFiles), not in containerd labels: labels reach the hook only
 * as the spec's annotations, which are fixed when the container is created.
 * A container made before endpoints were recorded (or by an older tsnerd) has
 * none stored; its endpoints are derived from its labels (endpointsFromLabels).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { invalid, usage } from '../errors.ts';
import { decodeContainerLabels, type ContainerLabels } from '../labels.ts';
import * as z from '../zod.ts';
import { DEFAULT_NETWORK_NAME } from './constants.ts';
import type { AnyConflist } from './conflist-schema.ts';
import { isDefaultNetwork, networkFromConflist, networkSubnets } from './network.ts';

export interface Endpoint {
  /** The network as given to `--net` (name or ID) or, for `network connect`, its name. */
  network: string;
  /** The interface inside the container: eth0, eth1, ... */
  ifname: string;
  /** Extra names of the container on this network only (Docker's network-scoped aliases). */
  aliases: string[];
  ip?: string | undefined;
  ip6?: string | undefined;
  mac?: string | undefined;
  /** The published ports (-p) are forwarded to this endpoint's address: the first network given at run. */
  publish?: boolean | undefined;
}

/** What a user may ask for one network: `--net NAME,alias=A,ip=IP,ip6=IP,mac=MAC` or `network connect --alias ...`. */
export interface EndpointOptions {
  aliases: string[];
  ip?: string | undefined;
  ip6?: string | undefined;
  mac?: string | undefined;
}

const MAC_PATTERN = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
/** Alias names: what a hosts file and a resolver accept as a host name. */
const ALIAS_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,253}[a-zA-Z0-9])?$/;

/** Docker's message for an alias on a network that is not user-defined (runconfig.ErrUnsupportedNetworkAndAlias). */
export const ALIAS_ON_DEFAULT_NETWORK = 'network-scoped alias is supported only for containers in user defined networks';

/** A multicast (group bit set) or all-zero MAC cannot be an interface's address. */
export function isUnicastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 0 && !/^(00:){5}00$/.test(mac);
}

/** Checks the syntax of one network's options (and no alias on `bridge` by name). */
export function validateEndpointOptions(network: string, o: EndpointOptions): void {
  for (const alias of o.aliases) {
    if (!ALIAS_PATTERN.test(alias)) throw invalid(`invalid alias "${alias}" for network ${network}`);
  }
  if (o.aliases.length > 0 && network === DEFAULT_NETWORK_NAME) throw invalid(ALIAS_ON_DEFAULT_NETWORK);
  if (o.ip !== undefined && !isIPv4(o.ip)) throw invalid(`invalid IPv4 address "${o.ip}" for network ${network}`);
  if (o.ip6 !== undefined && !isIPv6(o.ip6)) throw invalid(`invalid IPv6 address "${o.ip6}" for network ${network}`);
  if (o.mac !== undefined && !MAC_PATTERN.test(o.mac)) throw invalid(`invalid MAC address "${o.mac}" for network ${network}`);
  if (o.mac !== undefined && !isUnicastMac(o.mac)) {
    throw invalid(
      `invalid MAC address "${o.mac}" for network ${network}: a multicast or all-zero address cannot be assigned to an interface`,
    );
  }
}

/** Option keys of the per-network `--net` form, Docker's spellings included. */
const OPTION_KEYS: Record<string, 'name' | 'alias' | 'ip' | 'ip6' | 'mac'> = {
  name: 'name',
  alias: 'alias',
  ip: 'ip',
  ip6: 'ip6',
  mac: 'mac',
  'mac-address': 'mac',
};

export interface NetworkSpecEntry {
  network: string;
  options: EndpointOptions;
  /** Whether any per-network option was given (alias=, ip=, ...). */
  advanced: boolean;
}

/**
 * The `--net` values with Docker's per-network options: each comma-separated
 * item without `=` names a network (`--net a,b` is two networks, as before);
 * `key=value` items apply to the network named before them in the same value
 * (`--net n1,alias=x,ip=10.1.2.3`); `name=N` names it explicitly (Docker's
 * `--network name=n1,alias=x`). Networks keep their order; repeated names are
 * merged.
 */
export function parseNetworkSpecs(values: readonly string[]): NetworkSpecEntry[] {
  const entries: NetworkSpecEntry[] = [];
  const byName = new Map<string, NetworkSpecEntry>();
  const start = (network: string): NetworkSpecEntry => {
    let e = byName.get(network);
    if (!e) {
      e = { network, options: { aliases: [] }, advanced: false };
      byName.set(network, e);
      entries.push(e);
    }
    return e;
  };
  for (const value of values) {
    let current: NetworkSpecEntry | undefined;
    let pendingOptions: [string, string][] = [];
    for (const raw of value.split(',')) {
      const item = raw.trim();
      const eq = item.indexOf('=');
      // container:<id> and ns:<path> never hold "=" in their meaning; keep them whole.
      if (eq < 0 || item.startsWith('container:') || item.startsWith('ns:')) {
        if (item === '') throw usage('invalid network: empty value');
        current = start(item);
        for (const [k, v] of pendingOptions) applyOption(current, k, v, value);
        pendingOptions = [];
        continue;
      }
      const key = item.slice(0, eq).trim();
      const val = item.slice(eq + 1).trim();
      const kind = Object.hasOwn(OPTION_KEYS, key) ? OPTION_KEYS[key] : undefined;
      if (kind === undefined) throw usage(`invalid network option "${key}" in "${value}": expected name, alias, ip, ip6 or mac`);
      if (val === '') throw usage(`invalid network option "${item}" in "${value}": empty value`);
      if (kind === 'name') {
        if (current && current.network !== val && pendingOptions.length === 0) {
          throw usage(`invalid network "${value}": more than one name for one network`);
        }
        current = start(val);
        for (const [k, v] of pendingOptions) applyOption(current, k, v, value);
        pendingOptions = [];
        continue;
      }
      if (current) applyOption(current, kind, val, value);
      else pendingOptions.push([kind, val]);
    }
    if (pendingOptions.length > 0) throw usage(`invalid network "${value}": options without a network name`);
  }
  return entries;
}

function applyOption(e: NetworkSpecEntry, kind: string, val: string, whole: string): void {
  e.advanced = true;
  const set = (k: 'ip' | 'ip6' | 'mac'): void => {
    if (e.options[k] !== undefined && e.options[k] !== val) throw usage(`invalid network "${whole}": ${k} given twice`);
    e.options[k] = val;
  };
  switch (kind) {
    case 'alias':
      if (!e.options.aliases.includes(val)) e.options.aliases.push(val);
      return;
    case 'ip':
    case 'ip6':
    case 'mac':
      set(kind);
      return;
  }
}

/** The endpoints of a container made without a record of them: the `--net` label, eth0 gets --ip/--ip6/--mac-address and the ports. */
export function endpointsFromLabels(raw: Record<string, string>): Endpoint[] {
  let labels: ContainerLabels;
  try {
    labels = decodeContainerLabels(raw);
  } catch {
    return [];
  }
  const refs = labels.networks;
  if (refs.some(isNonCni)) return [];
  return refs.map((network, index) => ({
    network,
    ifname: `eth${index}`,
    aliases: [],
    ...(index === 0
      ? {
          ...(labels.ip ? { ip: labels.ip } : {}),
          ...(labels.ip6 ? { ip6: labels.ip6 } : {}),
          ...(labels.macAddress ? { mac: labels.macAddress } : {}),
          publish: true,
        }
      : {}),
  }));
}

function isNonCni(ref: string): boolean {
  return ref === 'host' || ref === 'none' || ref.startsWith('container:') || ref.startsWith('ns:');
}

/** The lowest ethN no endpoint uses. */
export function nextInterfaceName(endpoints: readonly Endpoint[]): string {
  const used = new Set(endpoints.map((e) => e.ifname));
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}

/** The stored endpoints, or those the labels imply for a container made without a record. */
export function effectiveEndpoints(stored: readonly Endpoint[] | undefined, labels: Record<string, string>): Endpoint[] {
  return stored ? [...stored] : endpointsFromLabels(labels);
}

const endpointSchema = z.object({
  network: z.string().check(z.minLength(1)),
  ifname: z.string().check(z.regex(/^eth\d+$/)),
  aliases: z.array(z.string()),
  ip: z.optional(z.string()),
  ip6: z.optional(z.string()),
  mac: z.optional(z.string()),
  publish: z.optional(z.boolean()),
});

/** The `endpoints` document of a state dir: `{"endpoints": [...]}`. */
export const EndpointsFileSchema = z.object({ endpoints: z.array(endpointSchema) });

export function parseEndpointsFile(data: unknown, where: string): Endpoint[] {
  const parsed = EndpointsFileSchema.safeParse(data);
  if (!parsed.success) throw invalid(`${where}: not a list of network endpoints: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data.endpoints;
}

/** `--network-alias`, `--ip`, `--ip6`, `--mac-address`: Docker applies them to the first network. */
export interface LegacyEndpointFlags {
  aliases: readonly string[];
  ip?: string | undefined;
  ip6?: string | undefined;
  mac?: string | undefined;
}

/** A network of `--net` as resolved: the ref as typed, the network's name, its main plugin and subnets. */
export interface PlannedNetwork {
  ref: string;
  name: string;
  isDefault: boolean;
  subnets: readonly string[];
}

/**
 * The endpoints of `run`/`create`, in `--net` order: eth0 gets the legacy
 * flags (refused together with the same per-network option, Docker's
 * messages) and the published ports.
 */
export function planEndpoints(
  networks: readonly PlannedNetwork[],
  specs: readonly NetworkSpecEntry[],
  legacy: LegacyEndpointFlags,
): Endpoint[] {
  return networks.map((net, index) => {
    const own = specs.find((s) => s.network === net.ref)?.options ?? { aliases: [] };
    const o: EndpointOptions = { ...own, aliases: [...own.aliases] };
    if (index === 0) {
      if (legacy.aliases.length > 0) {
        if (o.aliases.length > 0) throw usage('conflicting options: cannot specify both --network-alias and per-network alias');
        o.aliases = [...new Set(legacy.aliases)];
      }
      const merge = (k: 'ip' | 'ip6' | 'mac', flag: string, what: string): void => {
        if (legacy[k] === undefined || legacy[k] === '') return;
        if (o[k] !== undefined) throw usage(`conflicting options: cannot specify both ${flag} and per-network ${what}`);
        o[k] = legacy[k];
      };
      merge('ip', '--ip', 'IPv4 address');
      merge('ip6', '--ip6', 'IPv6 address');
      merge('mac', '--mac-address', 'MAC address');
    }
    checkEndpointFor(net, o);
    return {
      network: net.ref,
      ifname: `eth${index}`,
      aliases: o.aliases,
      ...(o.ip ? { ip: o.ip } : {}),
      ...(o.ip6 ? { ip6: o.ip6 } : {}),
      ...(o.mac ? { mac: o.mac } : {}),
      ...(index === 0 ? { publish: true } : {}),
    };
  });
}

/** Options valid for this network: syntax, no alias on the default network (addresses: checkRequestedAddress). */
export function checkEndpointFor(net: PlannedNetwork, o: EndpointOptions): void {
  validateEndpointOptions(net.name, o);
  if (o.aliases.length > 0 && net.isDefault) throw invalid(ALIAS_ON_DEFAULT_NETWORK);
}

/** Whether `cidr` (canonical or not) contains `ip`; false across families or on unparsable input. */
export function subnetContains(cidr: string, ip: string): boolean {
  const slash = cidr.indexOf('/');
  if (slash < 0) return false;
  const base = toBigInt(cidr.slice(0, slash));
  const addr = toBigInt(ip);
  const prefix = Number(cidr.slice(slash + 1));
  if (!base || !addr || base.bits !== addr.bits || !Number.isInteger(prefix) || prefix < 0 || prefix > base.bits) return false;
  const shift = BigInt(base.bits - prefix);
  return base.value >> shift === addr.value >> shift;
}

function toBigInt(ip: string): { value: bigint; bits: number } | undefined {
  if (isIPv4(ip)) return { value: ip.split('.').reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n), bits: 32 };
  if (!isIPv6(ip)) return undefined;
  let text = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4[1]!.split('.').map(Number);
    text = `${text.slice(0, -v4[1]!.length)}${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return { value: groups.reduce((acc, g) => (acc << 16n) + BigInt(Number.parseInt(g, 16)), 0n), bits: 128 };
}

/** A resolved network as planEndpoints needs it; `raw` is the conflist object as loaded. */
export function plannedNetwork(ref: string, name: string, raw: Record<string, unknown>): PlannedNetwork {
  const n = networkFromConflist('', raw as unknown as AnyConflist);
  return { ref, name, isDefault: isDefaultNetwork(n), subnets: networkSubnets(n).map((s) => s.subnet) };
}
