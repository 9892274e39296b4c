/** Fills the templates/ skeletons from a validated spec: the conflist tsnerd writes. */
import { internal } from '../errors.ts';
import { type Cidr, type Ip, firstHost, formatIp, lastAddress, parseCidr } from './cidr.ts';
import {
  BridgePlugin,
  type ConflistTemplates,
  FirewallPlugin,
  type Ipam,
  type IpamRange,
  ManagedConflist,
  type ManagedPlugin,
  VlanPlugin,
} from './conflist-schema.ts';
import { DEFAULT_NETWORK_LABEL, DEFAULT_NETWORK_NAME, DEFAULT_SUBNET } from './constants.ts';
import type { NetworkSpec, SubnetRequest } from './create-spec.ts';
import { bridgeNameFor, networkId } from './network-name.ts';
import { assertNoOverlap, pickFreeSubnet } from './subnet-pick.ts';

/**
 * The host-local range sets of a new network: the user's subnets first (each
 * refused if it overlaps `used`), then an automatic IPv4 /24 when none was given.
 */
export function planRanges(spec: NetworkSpec, used: readonly Cidr[]): IpamRange[][] {
  if (spec.ipamDriver === 'dhcp') return [];
  for (const { subnet } of spec.subnets) assertNoOverlap(subnet, used);
  const requests = [...spec.subnets];
  if (!requests.some((r) => r.subnet.family === 4)) {
    const subnet = pickFreeSubnet([...used, ...requests.map((r) => r.subnet)]);
    requests.push({ subnet, gateway: firstHost(subnet), ipRange: undefined });
  }
  return requests.map((r) => [ipamRange(r)]);
}

/**
 * The ip-range's last address, but never the subnet's broadcast address:
 * host-local hands out an explicit rangeEnd as is, so an ip-range ending where
 * the subnet ends would give a container the broadcast address.
 */
function rangeEnd(subnet: Cidr, ipRange: Cidr): Ip {
  const last = lastAddress(ipRange);
  return last.isEquals(lastAddress(subnet) as never) ? last.previousIPNumber() : last;
}

function ipamRange({ subnet, gateway, ipRange }: SubnetRequest): IpamRange {
  return {
    gateway: formatIp(gateway),
    ipRange: ipRange?.text,
    rangeEnd: ipRange ? formatIp(rangeEnd(subnet, ipRange)) : undefined,
    rangeStart: ipRange ? formatIp(firstHost(ipRange)) : undefined,
    subnet: subnet.text,
  };
}

export function buildConflist(templates: ConflistTemplates, spec: NetworkSpec, ranges: IpamRange[][]): ManagedConflist {
  const id = networkId(spec.name);
  const capabilities = spec.ipv6 ? { ips: true } : undefined;
  const plugins: ManagedPlugin[] = [];
  if (spec.driver === 'bridge') {
    const [bridgeT, portmap, firewallT, tuning] = templates.bridge.plugins;
    const bridge = BridgePlugin.parse({
      ...bridgeT,
      bridge: bridgeNameFor(spec.name, id),
      isGateway: spec.internal ? undefined : bridgeT.isGateway,
      ipMasq: spec.options.ipMasq ? bridgeT.ipMasq : undefined,
      mtu: spec.options.mtu,
      ipam: ipam(templates, bridgeT.ipam, spec, ranges),
      capabilities,
    });
    const firewall = FirewallPlugin.parse({
      ...firewallT,
      ingressPolicy: spec.options.icc ? firewallT.ingressPolicy : 'isolated',
    });
    // An internal network has no way out, so publishing ports on it makes no sense.
    plugins.push(...(spec.internal ? [bridge, firewall, tuning] : [bridge, portmap, firewall, tuning]));
  } else {
    const [vlanT] = templates[spec.driver].plugins;
    plugins.push(
      VlanPlugin.parse({
        ...vlanT,
        master: spec.options.parent,
        mode: spec.options.mode,
        mtu: spec.options.mtu,
        ipam: ipam(templates, vlanT.ipam, spec, ranges),
        capabilities,
      }),
    );
  }
  return ManagedConflist.parse({
    cniVersion: templates.bridge.cniVersion,
    name: spec.name,
    nerdctlID: id,
    nerdctlLabels: Object.keys(spec.labels).length > 0 ? spec.labels : undefined,
    plugins,
  });
}

function ipam(templates: ConflistTemplates, base: Ipam, spec: NetworkSpec, ranges: IpamRange[][]): Ipam {
  if (spec.ipamDriver === 'dhcp') return templates.dhcpIpam;
  if (base.type !== 'host-local') throw internal('conflist template must use host-local ipam');
  return { ranges, routes: spec.internal ? undefined : base.routes, type: 'host-local' };
}

/** The default `bridge` network as both tools create it on first need. */
export function defaultNetworkSpec(): NetworkSpec {
  const subnet = parseCidr(DEFAULT_SUBNET)!;
  return {
    name: DEFAULT_NETWORK_NAME,
    driver: 'bridge',
    ipamDriver: 'host-local',
    ipv6: false,
    internal: false,
    labels: { [DEFAULT_NETWORK_LABEL]: 'true' },
    options: { mtu: undefined, ipMasq: true, icc: true, parent: '', mode: undefined },
    subnets: [{ subnet, gateway: firstHost(subnet), ipRange: undefined }],
  };
}

/** Serialised as nerdctl does (2-space indent, no final newline), so both tools write identical files. */
export function serializeConflist(conflist: ManagedConflist): string {
  return JSON.stringify(conflist, null, 2);
}

