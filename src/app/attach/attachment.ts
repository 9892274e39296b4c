/** How one container is attached to its CNI networks: IDs, interface names, CNI args, capabilities. */
import type { CachedAttachment, CapabilityArgs, CniArgs, RuntimeConf } from '../../interfaces/cni.ts';
import type { NerdctlPortMapping } from '../../domain/publish/stored-port-mapping.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';
import type { NetworkConfigList } from '../../domain/cni/net-conf.ts';
import type { Endpoint } from '../../domain/network/endpoint.ts';
import type { HookContainer } from '../../domain/oci/state.ts';
import type { HostsMeta } from '../../domain/dns/hosts-file.ts';
import { cniContainerId } from '../../domain/cni/container-id.ts';

/** The bridge plugin's default link name when the conf gives none. */
const DEFAULT_BRIDGE_LINK = 'cni0';

/** In domain/ for the port holder's launcher, which names the forwards the holder checks. */
export { cniContainerId };

export function toCapabilityPortMappings(mappings: readonly NerdctlPortMapping[]): CapabilityArgs['portMappings'] {
  return mappings.map((m) => ({
    hostPort: m.HostPort,
    containerPort: m.ContainerPort,
    protocol: m.Protocol,
    hostIP: m.HostIP,
  }));
}

/**
 * The runtime conf of one endpoint (eth0, eth1, ...) of container `c` on
 * network `list`: its requested IP, IPv6 and MAC, and the published ports on
 * the endpoint that carries them (the first network given at run), with their
 * `::` twins when the network has IPv6. nerdctl sends --ip/--mac to every
 * network, which cannot work when they have different subnets. The one place
 * ADD (start, connect) and DEL (stop, disconnect without a cache) get it from.
 */
export function runtimeConfFor(
  c: Pick<HookContainer, 'namespace' | 'id' | 'annotations'>,
  netns: string,
  endpoint: Endpoint,
  list: NetworkConfigList,
  portMappings: readonly NerdctlPortMapping[],
): RuntimeConf {
  const args: [string, string][] = [['IgnoreUnknown', '1']];
  const capabilityArgs: CapabilityArgs = {};
  if (endpoint.ip) args.push(['IP', endpoint.ip]);
  if (endpoint.mac) args.push(['MAC', endpoint.mac]);
  if (endpoint.ip6) capabilityArgs.ips = [endpoint.ip6];
  const { hostname } = decodeContainerLabels(c.annotations);
  if (hostname) args.push(['NERDCTL_CNI_DHCP_HOSTNAME', hostname]);
  if (endpoint.publish && portMappings.length > 0) {
    capabilityArgs.portMappings = toCapabilityPortMappings(hasIPv6Subnet(list) ? withIPv6Twins(portMappings) : portMappings);
  }
  return {
    containerId: cniContainerId(c.namespace, c.id),
    netns,
    ifName: endpoint.ifname,
    args: args as CniArgs,
    capabilityArgs,
  };
}

/** The runtime conf of a cached ADD, for the DEL that undoes exactly it (the same IP, MAC and ports). */
export function cachedRuntimeConf(a: CachedAttachment, netns: string): RuntimeConf {
  return {
    containerId: a.containerId,
    netns,
    ifName: a.ifName,
    ...(a.args ? { args: a.args } : {}),
    ...(a.capabilityArgs ? { capabilityArgs: a.capabilityArgs } : {}),
  };
}

/**
 * `-p 8080:80` is stored with HostIP 0.0.0.0 (nerdctl's format), which the
 * portmap plugin applies to the container's IPv4 address only. On a network
 * with IPv6 each such mapping gets a `::` twin, so the port answers on IPv6
 * and is forwarded to the container's IPv6 address, as with Docker.
 */
export function withIPv6Twins(mappings: readonly NerdctlPortMapping[]): NerdctlPortMapping[] {
  return mappings.flatMap((m) => (m.HostIP === '0.0.0.0' || m.HostIP === '' ? [m, { ...m, HostIP: '::' }] : [m]));
}

/**
 * The host ports the port holder binds: the published mappings, plus the `::`
 * twins the portmap plugin gets when the publishing endpoint's network has
 * IPv6 (Docker binds both 0.0.0.0 and [::]); `networks` is in `endpoints` order.
 */
export function heldPortMappings(
  endpoints: readonly Endpoint[],
  networks: readonly { list: NetworkConfigList }[],
  portMappings: readonly NerdctlPortMapping[],
): NerdctlPortMapping[] {
  const at = endpoints.findIndex((e) => e.publish);
  const net = at < 0 ? undefined : networks[at];
  return net && hasIPv6Subnet(net.list) ? withIPv6Twins(portMappings) : [...portMappings];
}

/** Whether a network list has an IPv6 subnet in its main plugin's host-local ranges (or a single `subnet`). */
export function hasIPv6Subnet(list: NetworkConfigList): boolean {
  const ipam = list.plugins[0]?.raw['ipam'] as { ranges?: { subnet?: unknown }[][]; subnet?: unknown } | undefined;
  const subnets = [...(ipam?.ranges?.flat().map((r) => r.subnet) ?? []), ipam?.subnet];
  return subnets.some((s) => typeof s === 'string' && s.includes(':'));
}

/** Host bridges the list's bridge plugins attach containers to. */
export function bridgeLinks(list: NetworkConfigList): string[] {
  return list.plugins
    .filter((p) => p.type === 'bridge')
    .map((p) => (typeof p.raw['bridge'] === 'string' && p.raw['bridge'] !== '' ? p.raw['bridge'] : DEFAULT_BRIDGE_LINK));
}

/** The hosts store entry of a running container: its CNI results and, per network, its aliases. */
export function hostsMeta(c: HookContainer, networks: HostsMeta['Networks'], endpoints: readonly Endpoint[]): HostsMeta {
  const labels = decodeContainerLabels(c.annotations);
  const extraHosts: Record<string, string> = {};
  for (const entry of labels.extraHosts) {
    const sep = entry.indexOf(':');
    extraHosts[entry.slice(0, sep)] = entry.slice(sep + 1);
  }
  return {
    ID: c.id,
    Networks: networks,
    Hostname: labels.hostname ?? '',
    Domainname: labels.domainname ?? '',
    ExtraHosts: extraHosts,
    Name: labels.name ?? '',
    Aliases: aliasesOf(endpoints, networks),
  };
}

/** Aliases per network key of `networks` (only the networks attached). */
export function aliasesOf(endpoints: readonly Endpoint[], networks: HostsMeta['Networks']): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of endpoints) if (e.aliases.length > 0 && networks && e.network in networks) out[e.network] = [...e.aliases];
  return out;
}
