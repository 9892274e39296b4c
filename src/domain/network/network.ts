/**
 * A network as seen in the conf dir: a conflist (any origin) plus where it came
 * from. Everything else (driver, subnets, internal) is derived from the conflist,
 * so files written by nerdctl, by tsnerd or by hand are read the same way.
 */
import * as z from '../zod.ts';
import type { AnyConflist, AnyPlugin } from './conflist-schema.ts';
import { CNI_VERSION, DEFAULT_NETWORK_LABEL, DEFAULT_NETWORK_NAME, DNS_LABEL, type PseudoNetworkName } from './constants.ts';
import { shortId } from '../container-ref.ts';

export interface Network {
  name: string;
  /** nerdctlID: set on networks created by tsnerd or nerdctl, absent on hand-written files. */
  id: string | undefined;
  /** Absolute path of the conf file; undefined for the pseudo networks host and none. */
  file: string | undefined;
  labels: Record<string, string>;
  conflist: AnyConflist;
  /** Created by tsnerd or nerdctl (has an ID and a file), hence removable by us. */
  managed: boolean;
  pseudo: boolean;
  /** The file's modification time, when known. */
  created: Date | undefined;
}

export function networkFromConflist(file: string, conflist: AnyConflist, created?: Date): Network {
  return {
    name: conflist.name,
    id: conflist.nerdctlID,
    file,
    labels: conflist.nerdctlLabels ?? {},
    conflist,
    managed: conflist.nerdctlID !== undefined,
    pseudo: false,
    created,
  };
}

export function pseudoNetwork(name: PseudoNetworkName): Network {
  return {
    name,
    id: undefined,
    file: undefined,
    labels: {},
    conflist: { cniVersion: CNI_VERSION, name, plugins: [{ type: 'nerdctl-pseudo' }] },
    managed: false,
    pseudo: true,
    created: undefined,
  };
}

export function networkShortId(n: Network): string {
  return n.id === undefined ? '' : shortId(n.id);
}

export function isDefaultNetwork(n: Network): boolean {
  return n.labels[DEFAULT_NETWORK_LABEL] === 'true' || n.name === DEFAULT_NETWORK_NAME;
}

export function mainPlugin(n: Network): AnyPlugin | undefined {
  return n.conflist.plugins[0];
}

/** The main plugin's type (bridge, macvlan, ...); Docker's "host"/"null" for the pseudo networks. */
export function networkDriver(n: Network): string {
  if (n.pseudo) return n.name === 'host' ? 'host' : 'null';
  return mainPlugin(n)?.type ?? '';
}

const RangeView = z.looseObject({
  subnet: z.string(),
  gateway: z.optional(z.string()),
  ipRange: z.optional(z.string()),
  rangeStart: z.optional(z.string()),
  rangeEnd: z.optional(z.string()),
});
/** Both host-local layouts: `ranges` (current) and a single `subnet` (older hand-written files). */
const IpamView = z.looseObject({
  type: z.string(),
  ranges: z.optional(z.array(z.array(RangeView))),
  subnet: z.optional(z.string()),
  gateway: z.optional(z.string()),
  routes: z.optional(z.array(z.looseObject({ dst: z.string() }))),
});
type IpamView = z.infer<typeof IpamView>;

export function ipamOf(plugin: AnyPlugin | undefined): IpamView | undefined {
  const parsed = IpamView.safeParse(plugin?.['ipam']);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Where host-local keeps the network's allocations, if its main plugin's IPAM is host-local:
 * `dataDir` is the IPAM's own (undefined: host-local's default).
 */
export function hostLocalIpam(n: Network): { dataDir: string | undefined } | undefined {
  const ipam = ipamOf(mainPlugin(n));
  if (ipam?.type !== 'host-local') return undefined;
  return { dataDir: typeof ipam['dataDir'] === 'string' ? ipam['dataDir'] : undefined };
}

export interface SubnetConfig {
  subnet: string;
  gateway: string | undefined;
  ipRange: string | undefined;
}

/** One entry per distinct subnet across all plugins' IPAM, in file order. */
export function networkSubnets(n: Network): SubnetConfig[] {
  return pluginSubnets(n.conflist.plugins);
}

/** networkSubnets of a list of plugin objects (e.g. a loaded conflist's `plugins[].raw`). */
export function pluginSubnets(plugins: readonly Readonly<Record<string, unknown>>[]): SubnetConfig[] {
  const seen = new Map<string, SubnetConfig>();
  for (const plugin of plugins) {
    const ipam = ipamOf(plugin as AnyPlugin);
    if (!ipam) continue;
    const ranges = ipam.ranges?.flat() ?? (ipam.subnet ? [{ subnet: ipam.subnet, gateway: ipam.gateway }] : []);
    for (const r of ranges) {
      if (!seen.has(r.subnet)) {
        seen.set(r.subnet, { subnet: r.subnet, gateway: r.gateway, ipRange: 'ipRange' in r ? r.ipRange : undefined });
      }
    }
  }
  return [...seen.values()];
}

/** A bridge without gateway role has no way out of the host. */
export function isInternal(n: Network): boolean {
  const main = mainPlugin(n);
  if (main?.type === 'bridge') return main['isGateway'] !== true;
  return main !== undefined && ipamOf(main)?.type === 'host-local' && (ipamOf(main)?.routes ?? []).length === 0;
}

export function isIPv6Enabled(n: Network): boolean {
  return networkSubnets(n).some((s) => s.subnet.includes(':'));
}

/** The driver options that can be read back from the conflist, under their `-o` names. */
export function networkOptions(n: Network): Record<string, string> {
  const main = mainPlugin(n);
  const options: Record<string, string> = {};
  if (!main) return options;
  if (typeof main['mtu'] === 'number') options['mtu'] = String(main['mtu']);
  if (main.type === 'bridge') {
    if (!isInternal(n) && main['ipMasq'] !== true) options['ip-masq'] = 'false';
    const firewall = n.conflist.plugins.find((p) => p.type === 'firewall');
    if (firewall?.['ingressPolicy'] === 'isolated') options['icc'] = 'false';
  }
  if (main.type === 'macvlan' || main.type === 'ipvlan') {
    if (typeof main['master'] === 'string' && main['master'] !== '') options['parent'] = main['master'];
    if (typeof main['mode'] === 'string') options['mode'] = main['mode'];
  }
  return options;
}

/** The host bridge link a bridge network creates, if any. */
export function bridgeLinkName(n: Network): string | undefined {
  const main = mainPlugin(n);
  return main?.type === 'bridge' && typeof main['bridge'] === 'string' ? main['bridge'] : undefined;
}

/**
 * The embedded resolver serves user-defined bridge networks (Docker's split:
 * not the default `bridge`), unless created with --disable-dns.
 */
export function isDnsEnabled(n: Network): boolean {
  return !n.pseudo && networkDriver(n) === 'bridge' && !isDefaultNetwork(n) && n.labels[DNS_LABEL] !== 'false';
}

/** The gateway addresses of a network (where its resolver listens), IPv4 first. */
export function networkGateways(n: Network): string[] {
  const gateways = networkSubnets(n).flatMap((s) => (s.gateway === undefined ? [] : [s.gateway]));
  return [...gateways.filter((g) => !g.includes(':')), ...gateways.filter((g) => g.includes(':'))];
}
