/**
 * flannel's etcd formats, so tsnerd hosts and flanneld hosts share one fabric:
 * the network config at `<prefix>/config` and one subnet lease per host at
 * `<prefix>/subnets/<ip>-<len>`, both JSON with flannel's key names. Pure:
 * parsing, defaults, comparison and subnet arithmetic (IPv4 only, as flannel's
 * `Network`).
 */
import { invalid } from '../errors.ts';
import { quote } from '../text.ts';
import * as z from '../zod.ts';

export const DEFAULT_ETCD_PREFIX = '/coreos.com/network';
/** flannel's vxlan defaults on Linux. */
export const DEFAULT_VNI = 1;
export const DEFAULT_VXLAN_PORT = 8472;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD = 50;
/** flannel's lease duration: 24 hours, renewed well before it ends. */
export const LEASE_TTL_SECONDS = 24 * 60 * 60;

const Int = z.number().check(z.int());

/** `<prefix>/config` as flannel reads it: only Network is required; unknown keys are kept. */
export const FlannelConfigSchema = z.looseObject({
  Network: z.string(),
  SubnetLen: z.optional(Int),
  SubnetMin: z.optional(z.string()),
  SubnetMax: z.optional(z.string()),
  Backend: z.optional(
    z.looseObject({
      Type: z.string(),
      VNI: z.optional(Int),
      Port: z.optional(Int),
    }),
  ),
});
export type FlannelConfig = z.infer<typeof FlannelConfigSchema>;

/** A lease's value (flannel's LeaseAttrs). */
export const LeaseAttrsSchema = z.looseObject({
  PublicIP: z.string(),
  PublicIPv6: z.optional(z.nullable(z.string())),
  BackendType: z.string(),
  BackendData: z.optional(
    z.nullable(
      z.looseObject({
        VNI: z.optional(Int),
        VtepMAC: z.optional(z.string()),
      }),
    ),
  ),
});
export type LeaseAttrs = z.infer<typeof LeaseAttrsSchema>;

/** An IPv4 block as a 32-bit number and a prefix length. */
export interface Ipv4Net {
  base: number;
  prefix: number;
}

/** The config with flannel's defaults applied. */
export interface OverlayConfig {
  network: Ipv4Net;
  subnetLen: number;
  subnetMin: number;
  subnetMax: number;
  vni: number;
  port: number;
}

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** "10.5.0.0/16" → net; undefined if not IPv4 CIDR. `canonical` false when host bits are set. */
export function parseIpv4Net(text: string): (Ipv4Net & { canonical: boolean }) | undefined {
  const [address, prefixText, ...rest] = text.split('/');
  if (address === undefined || prefixText === undefined || rest.length > 0 || !/^\d{1,2}$/.test(prefixText)) return undefined;
  const ip = parseIpv4(address);
  const prefix = Number(prefixText);
  if (ip === undefined || prefix > 32) return undefined;
  const base = ip - (ip % blockSize(prefix));
  return { base, prefix, canonical: base === ip };
}

export function formatNet(net: Ipv4Net): string {
  return `${formatIpv4(net.base)}/${net.prefix}`;
}

export function netsOverlap(a: Ipv4Net, b: Ipv4Net): boolean {
  return a.base < b.base + blockSize(b.prefix) && b.base < a.base + blockSize(a.prefix);
}

export function netContains(outer: Ipv4Net, inner: Ipv4Net): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && inner.base < outer.base + blockSize(outer.prefix);
}

/** flannel's SubnetLen default: /24, or two bits longer than a Network smaller than /22. */
export function defaultSubnetLen(networkPrefix: number): number {
  return networkPrefix <= 22 ? 24 : networkPrefix + 2;
}

/** Validates a config read from etcd (`key` names it in messages) and applies flannel's defaults. */
export function parseFlannelConfig(text: string, key: string): OverlayConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`${key} in etcd is not a flannel network config: not JSON`);
  }
  const parsed = FlannelConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${quote(issue.path.join('.'))}: ` : '';
    throw invalid(`${key} in etcd is not a flannel network config: ${where}${issue?.message ?? 'invalid'}`);
  }
  return overlayConfigOf(parsed.data, key);
}

export function overlayConfigOf(c: FlannelConfig, key: string): OverlayConfig {
  const bad = (what: string) => invalid(`${key} in etcd is not a usable flannel network config: ${what}`);
  const network = parseIpv4Net(c.Network);
  if (!network) throw bad(`Network ${quote(c.Network)} is not an IPv4 CIDR`);
  const type = c.Backend?.Type ?? 'udp';
  if (type !== 'vxlan') throw bad(`backend ${quote(type)} is not supported, only "vxlan"`);
  const subnetLen = c.SubnetLen ?? defaultSubnetLen(network.prefix);
  if (subnetLen <= network.prefix || subnetLen > 30) {
    throw bad(`SubnetLen ${subnetLen} must be longer than the Network's /${network.prefix} and at most 30`);
  }
  const size = blockSize(subnetLen);
  const netEnd = network.base + blockSize(network.prefix);
  const bound = (text: string | undefined, name: string, dflt: number): number => {
    if (text === undefined) return dflt;
    const ip = parseIpv4(text);
    if (ip === undefined || ip < network.base || ip >= netEnd || ip % size !== 0) {
      throw bad(`${name} ${quote(text)} is not a /${subnetLen} inside ${formatNet(network)}`);
    }
    return ip;
  };
  // As flannel: the first subnet of Network is skipped unless SubnetMin says otherwise.
  const subnetMin = bound(c.SubnetMin, 'SubnetMin', network.base + size);
  const subnetMax = bound(c.SubnetMax, 'SubnetMax', netEnd - size);
  if (subnetMin > subnetMax) throw bad(`SubnetMin ${formatIpv4(subnetMin)} is after SubnetMax ${formatIpv4(subnetMax)}`);
  const vni = c.Backend?.VNI ?? DEFAULT_VNI;
  const port = c.Backend?.Port ?? DEFAULT_VXLAN_PORT;
  if (vni < 1 || vni > 16_777_215) throw bad(`VNI ${vni} is out of range`);
  if (port < 1 || port > 65_535) throw bad(`Port ${port} is out of range`);
  return { network: { base: network.base, prefix: network.prefix }, subnetLen, subnetMin, subnetMax, vni, port };
}

/** What `network create --subnet --subnet-len --vni --port` asks for. */
export interface OverlayRequest {
  network: Ipv4Net | undefined;
  subnetLen: number | undefined;
  vni: number | undefined;
  port: number | undefined;
}

/** The config a first host writes (flannel's key order). */
export function newFlannelConfig(req: OverlayRequest & { network: Ipv4Net }): FlannelConfig {
  return {
    Network: formatNet(req.network),
    SubnetLen: req.subnetLen ?? defaultSubnetLen(req.network.prefix),
    Backend: { Type: 'vxlan', VNI: req.vni ?? DEFAULT_VNI, Port: req.port ?? DEFAULT_VXLAN_PORT },
  };
}

/** The requested values that differ from the config in etcd, as "what: etcd has X, asked Y" phrases. */
export function configDifferences(existing: OverlayConfig, req: OverlayRequest): string[] {
  const diffs: string[] = [];
  if (req.network && formatNet(req.network) !== formatNet(existing.network)) {
    diffs.push(`subnet ${formatNet(existing.network)} in etcd, ${formatNet(req.network)} asked`);
  }
  if (req.subnetLen !== undefined && req.subnetLen !== existing.subnetLen) {
    diffs.push(`subnet-len ${existing.subnetLen} in etcd, ${req.subnetLen} asked`);
  }
  if (req.vni !== undefined && req.vni !== existing.vni) diffs.push(`vni ${existing.vni} in etcd, ${req.vni} asked`);
  if (req.port !== undefined && req.port !== existing.port) diffs.push(`port ${existing.port} in etcd, ${req.port} asked`);
  return diffs;
}

/** How many host subnets the config can lease. */
export function subnetCount(c: OverlayConfig): number {
  return (c.subnetMax - c.subnetMin) / blockSize(c.subnetLen) + 1;
}

export function configKey(prefix: string): string {
  return `${prefix}/config`;
}

export function subnetsPrefix(prefix: string): string {
  return `${prefix}/subnets/`;
}

/** `<prefix>/subnets/10.5.34.0-24`. */
export function leaseKey(prefix: string, subnet: Ipv4Net): string {
  return `${subnetsPrefix(prefix)}${formatIpv4(subnet.base)}-${subnet.prefix}`;
}

export function subnetOfLeaseKey(prefix: string, key: string): Ipv4Net | undefined {
  if (!key.startsWith(subnetsPrefix(prefix))) return undefined;
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d{1,2})$/.exec(key.slice(subnetsPrefix(prefix).length));
  if (!m) return undefined;
  const net = parseIpv4Net(`${m[1]}/${m[2]}`);
  return net?.canonical ? { base: net.base, prefix: net.prefix } : undefined;
}

/** The lease value a tsnerd host writes: what a flanneld vxlan host writes. */
export function leaseAttrs(publicIp: string, vni: number, vtepMac: string): LeaseAttrs {
  return { PublicIP: publicIp, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: vni, VtepMAC: vtepMac } };
}

export function parseLeaseAttrs(text: string): LeaseAttrs | undefined {
  try {
    const parsed = LeaseAttrsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A lease seen in etcd. */
export interface Lease {
  subnet: Ipv4Net;
  attrs: LeaseAttrs;
}

/** A peer the VXLAN device must reach: its subnet behind its VTEP. */
export interface Peer {
  subnet: Ipv4Net;
  publicIp: string;
  vtepMac: string;
}

const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Other hosts' vxlan leases that can be programmed; own subnet and foreign backends are skipped. */
export function peersOf(leases: readonly Lease[], own: Ipv4Net | undefined): Peer[] {
  const peers: Peer[] = [];
  for (const l of leases) {
    if (own && l.subnet.base === own.base && l.subnet.prefix === own.prefix) continue;
    const mac = l.attrs.BackendData?.VtepMAC?.toLowerCase();
    if (l.attrs.BackendType !== 'vxlan' || mac === undefined || !MAC_PATTERN.test(mac)) continue;
    if (parseIpv4(l.attrs.PublicIP) === undefined) continue;
    peers.push({ subnet: l.subnet, publicIp: l.attrs.PublicIP, vtepMac: mac });
  }
  return peers.sort((a, b) => a.subnet.base - b.subnet.base);
}

/**
 * The subnet this host leases: `preferred` (its previous lease) when free or
 * already its own, else any lease in etcd with this host's public IP (flannel
 * does the same after losing its local state), else a random free one.
 * undefined when every subnet is taken.
 */
export function chooseSubnet(
  c: OverlayConfig,
  leases: readonly Lease[],
  publicIp: string,
  preferred: Ipv4Net | undefined,
  random: () => number = Math.random,
): Ipv4Net | undefined {
  const size = blockSize(c.subnetLen);
  const inRange = (n: Ipv4Net) => n.prefix === c.subnetLen && n.base >= c.subnetMin && n.base <= c.subnetMax;
  const holder = (n: Ipv4Net) => leases.find((l) => netsOverlap(l.subnet, n));
  if (preferred && inRange(preferred)) {
    const h = holder(preferred);
    if (!h || (h.subnet.base === preferred.base && h.subnet.prefix === preferred.prefix && h.attrs.PublicIP === publicIp)) return preferred;
  }
  const mine = leases.find((l) => l.attrs.PublicIP === publicIp && inRange(l.subnet));
  if (mine) return mine.subnet;
  const free: number[] = [];
  for (let base = c.subnetMin; base <= c.subnetMax && free.length < 100; base += size) {
    if (!holder({ base, prefix: c.subnetLen })) free.push(base);
  }
  if (free.length === 0) return undefined;
  return { base: free[Math.floor(random() * free.length)]!, prefix: c.subnetLen };
}

/** The VTEP address of a host subnet (flannel puts the subnet's network address on flannel.<VNI>). */
export function vtepAddress(subnet: Ipv4Net): string {
  return formatIpv4(subnet.base);
}

/** The bridge gateway inside a host subnet. */
export function gatewayOf(subnet: Ipv4Net): string {
  return formatIpv4(subnet.base + 1);
}

/** flannel's device name: the kernel's VXLAN device for VNI n is flannel.<n>. */
export function vxlanDeviceName(vni: number): string {
  return `flannel.${vni}`;
}

/** A locally administered unicast MAC from 6 random bytes. */
export function randomVtepMac(bytes: Uint8Array): string {
  const b = [(bytes[0]! & 0xfe) | 0x02, ...Array.from(bytes.slice(1, 6))];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
