/** How one container is attached to its CNI networks: IDs, interface names, CNI args, capabilities. */
import type { CapabilityArgs, CniArgs, RuntimeConf } from '../../interfaces/cni.ts';
import type { NerdctlPortMapping } from '../../domain/publish/stored-port-mapping.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';
import type { NetworkConfigList } from '../../domain/cni/net-conf.ts';

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
 * The runtime conf of interface `index` (eth0, eth1, ...). A requested IP or
 * MAC applies to the first network only: nerdctl sends it to every network,
 * which cannot work when they have different subnets.
 */
export function runtimeConfFor(input: {
  namespace: string;
  id: string;
  netns: string;
  index: number;
  annotations: Record<string, string>;
  portMappings: readonly NerdctlPortMapping[];
}): RuntimeConf {
  const { index } = input;
  const labels = decodeContainerLabels(input.annotations);
  const args: [string, string][] = [['IgnoreUnknown', '1']];
  const capabilityArgs: CapabilityArgs = {};
  if (index === 0) {
    const { ip, macAddress: mac, ip6 } = labels;
    if (ip) args.push(['IP', ip]);
    if (mac) args.push(['MAC', mac]);
    if (ip6) capabilityArgs.ips = [ip6];
  }
  const { hostname } = labels;
  if (hostname) args.push(['NERDCTL_CNI_DHCP_HOSTNAME', hostname]);
  if (input.portMappings.length > 0) capabilityArgs.portMappings = toCapabilityPortMappings(input.portMappings);
  return {
    containerId: cniContainerId(input.namespace, input.id),
    netns: input.netns,
    ifName: `eth${index}`,
    args: args as CniArgs,
    capabilityArgs,
  };
}

/** Host bridges the list's bridge plugins attach containers to. */
export function bridgeLinks(list: NetworkConfigList): string[] {
  return list.plugins
    .filter((p) => p.type === 'bridge')
    .map((p) => (typeof p.raw['bridge'] === 'string' && p.raw['bridge'] !== '' ? p.raw['bridge'] : DEFAULT_BRIDGE_LINK));
}
