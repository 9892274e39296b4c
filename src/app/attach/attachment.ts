/** How one container is attached to its CNI networks: IDs, interface names, CNI args, capabilities. */
import type { CapabilityArgs, CniArgs, RuntimeConf } from '../../interfaces/cni.ts';
import type { NerdctlPortMapping } from '../../domain/publish/stored-port-mapping.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';
import type { NetworkConfigList } from '../../domain/cni/net-conf.ts';
import type { Endpoint } from '../../domain/network/endpoint.ts';

/** The bridge plugin's default link name when the conf gives none. */
const DEFAULT_BRIDGE_LINK = 'cni0';

/** CNI container ID: namespace-qualified, as nerdctl, so namespaces never collide. */
export function cniContainerId(namespace: string, id: string): string {
  return `${namespace}-${id}`;
}

export function toCapabilityPortMappings(mappings: readonly NerdctlPortMapping[]): CapabilityArgs['portMappings'] {
  return mappings.map((m) => ({
    hostPort: m.HostPort,
    containerPort: m.ContainerPort,
    protocol: m.Protocol,
    hostIP: m.HostIP,
  }));
}

/**
 * The runtime conf of one endpoint (eth0, eth1, ...): its requested IP, IPv6
 * and MAC, and the published ports on the endpoint that carries them (the
 * first network given at run). nerdctl sends --ip/--mac to every network,
 * which cannot work when they have different subnets.
 */
export function runtimeConfFor(input: {
  namespace: string;
  id: string;
  netns: string;
  endpoint: Endpoint;
  annotations: Record<string, string>;
  portMappings: readonly NerdctlPortMapping[];
  /** The endpoint's network has an IPv6 subnet: ports published on all addresses answer on IPv6 too. */
  ipv6?: boolean | undefined;
}): RuntimeConf {
  const { annotations, endpoint } = input;
  const args: [string, string][] = [['IgnoreUnknown', '1']];
  const capabilityArgs: CapabilityArgs = {};
  if (endpoint.ip) args.push(['IP', endpoint.ip]);
  if (endpoint.mac) args.push(['MAC', endpoint.mac]);
  if (endpoint.ip6) capabilityArgs.ips = [endpoint.ip6];
  const { hostname } = decodeContainerLabels(annotations);
  if (hostname) args.push(['NERDCTL_CNI_DHCP_HOSTNAME', hostname]);
  if (endpoint.publish && input.portMappings.length > 0) {
    capabilityArgs.portMappings = toCapabilityPortMappings(input.ipv6 ? withIPv6Twins(input.portMappings) : input.portMappings);
  }
  return {
    containerId: cniContainerId(input.namespace, input.id),
    netns: input.netns,
    ifName: endpoint.ifname,
    args: args as CniArgs,
    capabilityArgs,
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
