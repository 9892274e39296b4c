/**
 * An overlay network on one host: what `network create --driver overlay` asks
 * for, what the local conflist records of it (`tsnerdOverlay`), and the
 * conflist itself (a bridge on the host's leased subnet). Pure.
 */
import { invalid, usage } from '../errors.ts';
import { isReservedLabelKey } from '../container-flags.ts';
import { assertNoControlCharacters, quote } from '../text.ts';
import type { BridgeTemplate, ManagedConflist } from '../network/conflist-schema.ts';
import { bridgeNameFor, networkId, validateNetworkName } from '../network/network-name.ts';
import type { Network } from '../network/network.ts';
import * as z from '../zod.ts';
import { DEFAULT_ETCD_PREFIX, type Ipv4Net, type OverlayRequest, formatNet, gatewayOf, parseIpv4, parseIpv4Net } from './flannel.ts';

export const OVERLAY_DRIVER = 'overlay';
/** Top-level conflist key (CNI ignores unknown top-level keys) linking a network to its etcd fabric. */
export const OVERLAY_CONFLIST_KEY = 'tsnerdOverlay';

export const OverlayRefSchema = z.object({
  etcdEndpoints: z.array(z.string()).check(z.minLength(1)),
  etcdPrefix: z.string(),
});
export type OverlayRef = z.infer<typeof OverlayRefSchema>;

export interface CreateOverlayInput {
  name: string;
  etcdEndpoints: string | undefined;
  subnets?: readonly string[] | undefined;
  subnetLen?: number | undefined;
  vni?: number | undefined;
  port?: number | undefined;
  labels?: readonly string[] | undefined;
  /** `-o key=value`: etcd-prefix, public-ip, mtu. */
  options?: readonly string[] | undefined;
}

export interface OverlaySpec {
  name: string;
  ref: OverlayRef;
  request: OverlayRequest;
  labels: Record<string, string>;
  /** The underlay address other hosts reach this one at; detected when undefined. */
  publicIp: string | undefined;
  /** The VXLAN device's MTU; the underlay interface's minus the VXLAN overhead when undefined. */
  mtu: number | undefined;
}

export function parseEtcdEndpoints(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') throw usage('--driver overlay needs --etcd-endpoints URL[,URL]');
  return text.split(',').map((raw) => {
    const url = raw.trim();
    assertNoControlCharacters('etcd endpoint', url);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(`invalid etcd endpoint ${quote(url)}: not a URL (e.g. http://10.0.0.1:2379)`);
    }
    if (!['http:', 'https:'].includes(parsed.protocol) || parsed.hostname === '' || parsed.pathname.replace(/\/$/, '') !== '') {
      throw invalid(`invalid etcd endpoint ${quote(url)}: must be http(s)://host:port`);
    }
    return url.replace(/\/$/, '');
  });
}

function rangeInt(flag: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalid(`invalid ${flag} ${value}: must be an integer from ${min} to ${max}`);
  return value;
}

export function parseOverlayInput(input: CreateOverlayInput): OverlaySpec {
  validateNetworkName(input.name);
  const etcdEndpoints = parseEtcdEndpoints(input.etcdEndpoints);
  const subnets = input.subnets ?? [];
  if (subnets.length > 1) throw invalid("an overlay network takes one --subnet (flannel's Network)");
  let network: Ipv4Net | undefined;
  if (subnets[0] !== undefined) {
    const parsed = parseIpv4Net(subnets[0]);
    if (!parsed) throw invalid(`invalid subnet ${quote(subnets[0])}: not an IPv4 CIDR`);
    if (!parsed.canonical) throw invalid(`unexpected subnet ${quote(subnets[0])}, maybe you meant "${formatNet(parsed)}"?`);
    network = { base: parsed.base, prefix: parsed.prefix };
  }
  const subnetLen = rangeInt('--subnet-len', input.subnetLen, 1, 30);
  if (network && subnetLen !== undefined && subnetLen <= network.prefix) {
    throw invalid(`--subnet-len ${subnetLen} must be longer than the subnet's /${network.prefix}`);
  }
  const options = parseOptions(input.options ?? []);
  return {
    name: input.name,
    ref: { etcdEndpoints, etcdPrefix: options.prefix },
    request: { network, subnetLen, vni: rangeInt('--vni', input.vni, 1, 16_777_215), port: rangeInt('--port', input.port, 1, 65_535) },
    labels: parseLabels(input.labels ?? []),
    publicIp: options.publicIp,
    mtu: options.mtu,
  };
}

function parseOptions(entries: readonly string[]): { prefix: string; publicIp: string | undefined; mtu: number | undefined } {
  let prefix = DEFAULT_ETCD_PREFIX;
  let publicIp: string | undefined;
  let mtu: number | undefined;
  for (const entry of entries) {
    const i = entry.indexOf('=');
    const key = i < 0 ? entry : entry.slice(0, i);
    const value = i < 0 ? '' : entry.slice(i + 1);
    switch (key) {
      case 'etcd-prefix':
        if (!/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/.test(value))
          throw invalid(`invalid etcd-prefix ${quote(value)}: must start with "/" and not end with "/"`);
        prefix = value;
        break;
      case 'public-ip':
        if (parseIpv4(value) === undefined) throw invalid(`invalid public-ip ${quote(value)}: not an IPv4 address`);
        publicIp = value;
        break;
      case 'mtu':
      case 'com.docker.network.driver.mtu':
        if (!/^\d+$/.test(value) || Number(value) < 576 || Number(value) > 65_535)
          throw invalid(`invalid mtu ${quote(value)}: must be from 576 to 65535`);
        mtu = Number(value);
        break;
      default:
        throw invalid(`unsupported "overlay" network option ${quote(key)}`);
    }
  }
  return { prefix, publicIp, mtu };
}

/** The overlay a network belongs to, from its conflist; undefined for any other network. */
export function overlayOf(n: Network): OverlayRef | undefined {
  if (n.pseudo) return undefined;
  const parsed = OverlayRefSchema.safeParse(n.conflist[OVERLAY_CONFLIST_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** The conflist as written on disk: a ManagedConflist plus the overlay reference. */
export type OverlayConflist = ManagedConflist & { [OVERLAY_CONFLIST_KEY]: OverlayRef };

/**
 * The local side of an overlay network: the bridge chain of the bridge
 * template on the host's leased subnet, with the reduced MTU and without the
 * bridge plugin's masquerading (the agent masquerades only what leaves the
 * overlay, so peers see container addresses).
 */
export function buildOverlayConflist(
  template: BridgeTemplate,
  spec: { name: string; ref: OverlayRef; labels: Record<string, string> },
  subnet: Ipv4Net,
  mtu: number,
): OverlayConflist {
  const id = networkId(spec.name);
  const [bridgeT, portmap, firewall, tuning] = template.plugins;
  const bridge = {
    ...bridgeT,
    bridge: bridgeNameFor(spec.name, id),
    ipMasq: undefined,
    mtu,
    ipam: {
      ranges: [[{ gateway: gatewayOf(subnet), subnet: formatNet(subnet) }]],
      routes: bridgeT.ipam.type === 'host-local' ? bridgeT.ipam.routes : undefined,
      type: 'host-local' as const,
    },
  };
  return {
    cniVersion: template.cniVersion,
    name: spec.name,
    nerdctlID: id,
    nerdctlLabels: Object.keys(spec.labels).length > 0 ? spec.labels : undefined,
    plugins: [bridge, portmap, firewall, tuning],
    [OVERLAY_CONFLIST_KEY]: spec.ref,
  };
}

/** As for bridge networks: no empty key, no control characters, no nerdctl/ or tsnerd/ keys. */
function parseLabels(entries: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of entries) {
    const i = entry.indexOf('=');
    const key = i < 0 ? entry : entry.slice(0, i);
    if (key === '') throw invalid(`invalid label ${quote(entry)}: empty key`);
    assertNoControlCharacters('label', entry);
    if (isReservedLabelKey(key)) throw invalid(`label ${quote(key)} is reserved: keys under nerdctl/ and tsnerd/ are set by the tools`);
    labels[key] = i < 0 ? '' : entry.slice(i + 1);
  }
  return labels;
}
