/** Fills the templates/ skeletons from a validated spec: the conflist tsnerd writes. */
import { internal } from '../errors.ts';
import { type Cidr, type Ip, familyOf, firstHost, formatIp, lastAddress, parseCidr, parseIp } from './cidr.ts';
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
import { AUX_ADDRESSES_LABEL, DEFAULT_NETWORK_LABEL, DEFAULT_NETWORK_NAME, DEFAULT_SUBNET } from './constants.ts';
import { type NetworkSpec, type SubnetRequest, parseBridgeIp } from './create-spec.ts';
import { bridgeNameFor, networkId } from './network-name.ts';
import { assertNoOverlap, pickFreeSubnet } from './subnet-pick.ts';
import { pickFreeIPv6Subnet } from './ula.ts';

/**
 * The host-local range sets of a new network: the user's subnets first (each
 * refused if it overlaps `used`), then an automatic IPv4 /24 when none was given,
 * and with --ipv6 an automatic IPv6 /64 of `ipv6Pool` (ula.ts) when none was given.
 */
export function planRanges(spec: NetworkSpec, used: readonly Cidr[], ipv6Pool?: Cidr): IpamRange[][] {
  if (spec.ipamDriver === 'dhcp') return [];
  for (const { subnet } of spec.subnets) assertNoOverlap(subnet, used);
  const requests = [...spec.subnets];
  if (spec.ipv4 !== false && !requests.some((r) => r.subnet.family === 4)) {
    const subnet = pickFreeSubnet([...used, ...requests.map((r) => r.subnet)]);
    requests.push({ subnet, gateway: firstHost(subnet), ipRange: undefined });
  }
  if (needsIPv6Subnet(spec)) {
    if (!ipv6Pool) throw internal(`network ${spec.name} needs an automatic IPv6 subnet and no pool was given`);
    const subnet = pickFreeIPv6Subnet([...used, ...requests.map((r) => r.subnet)], ipv6Pool);
    requests.push({ subnet, gateway: firstHost(subnet), ipRange: undefined });
  }
  const aux = Object.values(spec.auxAddresses ?? {});
  return requests.map((r) => splitAroundAux(r, aux));
}

/** Whether planRanges gives the network an automatic IPv6 subnet: --ipv6 without an IPv6 --subnet. */
export function needsIPv6Subnet(spec: NetworkSpec): boolean {
  return spec.ipamDriver !== 'dhcp' && spec.ipv6 && !spec.subnets.some((r) => r.subnet.family === 6);
}

/**
 * A subnet's range, cut around its aux addresses (nerdctl's --aux-address):
 * host-local then never hands them out. Without any in range it is the
 * single range nerdctl writes; ipRange stays on the first piece.
 */
function splitAroundAux(r: SubnetRequest, auxTexts: readonly string[]): IpamRange[] {
  const whole = ipamRange(r);
  const first = r.ipRange ? firstHost(r.ipRange) : firstHost(r.subnet);
  // host-local's own default end: the broadcast address is not a host in IPv4.
  const last = r.ipRange
    ? lastAddress(r.ipRange)
    : r.subnet.family === 4
      ? lastAddress(r.subnet).previousIPNumber()
      : lastAddress(r.subnet);
  const aux = auxTexts
    .map((t) => parseIp(t))
    .filter(
      (ip): ip is Ip =>
        ip !== undefined && familyOf(ip) === r.subnet.family && !ip.isLessThan(first as never) && !ip.isGreaterThan(last as never),
    )
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  if (aux.length === 0) return [whole];
  const pieces: IpamRange[] = [];
  let start: Ip = first;
  for (const ip of [...aux, undefined]) {
    const end: Ip = ip === undefined ? last : ip.previousIPNumber();
    if (!start.isGreaterThan(end as never)) {
      pieces.push({
        gateway: formatIp(r.gateway),
        ipRange: pieces.length === 0 ? r.ipRange?.text : undefined,
        rangeEnd: formatIp(end),
        rangeStart: formatIp(start),
        subnet: r.subnet.text,
      });
    }
    if (ip !== undefined) start = ip.nextIPNumber();
  }
  return pieces;
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
    nerdctlLabels: Object.keys(labelsOf(spec, ranges)).length > 0 ? labelsOf(spec, ranges) : undefined,
    plugins,
  });
}

function labelsOf(spec: NetworkSpec, ranges: IpamRange[][]): Record<string, string> {
  const aux = Object.entries(spec.auxAddresses ?? {});
  if (aux.length === 0) return spec.labels;
  const bySubnet: Record<string, Record<string, string>> = {};
  for (const set of ranges) {
    const subnet = set[0]?.subnet;
    const cidr = subnet === undefined ? undefined : parseCidr(subnet);
    if (!cidr) continue;
    for (const [name, text] of aux) {
      const ip = parseIp(text);
      if (ip && familyOf(ip) === cidr.family && cidr.range.contains(ip as never)) (bySubnet[cidr.text] ??= {})[name] = text;
    }
  }
  return { ...spec.labels, [AUX_ADDRESSES_LABEL]: JSON.stringify(bySubnet) };
}

function ipam(templates: ConflistTemplates, base: Ipam, spec: NetworkSpec, ranges: IpamRange[][]): Ipam {
  if (spec.ipamDriver === 'dhcp') return dhcpIpam(templates.dhcpIpam, spec);
  if (base.type !== 'host-local') throw internal('conflist template must use host-local ipam');
  // An IPv6-only network's default route is ::/0 (nerdctl); a dual-stack one gets ::/0 next to the
  // template's 0.0.0.0/0, as Docker's containers have (nerdctl gives it none: docs/compat.md).
  const hasIPv6 = ranges.some((set) => set.some((r) => r.subnet.includes(':')));
  const routes = spec.ipv4 === false ? [{ dst: '::/0' }] : hasIPv6 ? [...(base.routes ?? []), { dst: '::/0' }] : base.routes;
  return { ranges, routes: spec.internal ? undefined : routes, type: 'host-local' };
}

function dhcpIpam(base: ConflistTemplates['dhcpIpam'], spec: NetworkSpec): Ipam {
  const options = spec.dhcpOptions ?? [];
  if (options.length === 0) return base;
  const provide = [...base.provide];
  const request: NonNullable<ConflistTemplates['dhcpIpam']['request']> = [...(base.request ?? [])];
  for (const o of options) {
    if (o.kind === 'provide') {
      const entry = { option: o.option, value: o.value ?? '', ...(o.fromArg === undefined ? {} : { fromArg: o.fromArg }) };
      const at = provide.findIndex((p) => p.option === o.option);
      if (at >= 0) provide[at] = entry;
      else provide.push(entry);
    } else {
      request.push({ option: o.option, ...(o.skipDefault === undefined ? {} : { skipDefault: o.skipDefault }) });
    }
  }
  return { ...base, provide, ...(request.length > 0 ? { request } : {}) };
}

/** The default `bridge` network as both tools create it on first need: 10.4.0.0/24, gateway 10.4.0.1, or what `--bridge-ip` says. */
export function defaultNetworkSpec(bridgeIp?: string): NetworkSpec {
  const subnet = parseCidr(DEFAULT_SUBNET)!;
  return {
    name: DEFAULT_NETWORK_NAME,
    driver: 'bridge',
    ipamDriver: 'host-local',
    ipv6: false,
    internal: false,
    labels: { [DEFAULT_NETWORK_LABEL]: 'true' },
    options: { mtu: undefined, ipMasq: true, icc: true, parent: '', mode: undefined },
    subnets: [bridgeIp === undefined ? { subnet, gateway: firstHost(subnet), ipRange: undefined } : parseBridgeIp(bridgeIp)],
  };
}

/** Serialised as nerdctl does (2-space indent, no final newline), so both tools write identical files. */
export function serializeConflist(conflist: ManagedConflist): string {
  return JSON.stringify(conflist, null, 2);
}
