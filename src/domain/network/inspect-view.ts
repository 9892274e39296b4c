/** Docker-compatible `network inspect` objects. */
import { AUX_ADDRESSES_LABEL } from './constants.ts';
import { type Network, isIPv6Enabled, isDnsEnabled, isInternal, networkDriver, networkOptions, networkSubnets } from './network.ts';

export interface NetworkAttachment {
  containerId: string;
  name: string;
  /** Docker's EndpointID: endpointIdOf (domain/network-settings.ts), as `inspect` shows it. */
  endpointId: string;
  macAddress: string;
  /** CIDR form, e.g. "10.4.1.2/24"; "" when none. */
  ipv4Address: string;
  ipv6Address: string;
}

export interface DockerNetworkContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

export interface DockerNetwork {
  Name: string;
  Id?: string;
  Created?: string;
  /** "global" for overlay networks (Docker's scope of networks kept in a shared store). */
  Scope: 'local' | 'global';
  Driver: string;
  EnableIPv6: boolean;
  Internal: boolean;
  /** tsnerd's embedded resolver serves the network (Podman's dns_enabled; Docker has no such field). */
  DNSEnabled: boolean;
  IPAM: {
    Driver: string;
    Config: Array<{ Subnet: string; Gateway?: string; IPRange?: string; AuxiliaryAddresses?: Record<string, string> }>;
  };
  Options: Record<string, string>;
  Labels: Record<string, string>;
  Containers: Record<string, DockerNetworkContainer>;
  /** Overlay networks: the etcd fabric, this host's lease and the other hosts'. */
  Overlay?: unknown;
}

function auxAddresses(n: Network): Record<string, Record<string, string>> {
  try {
    const value = JSON.parse(n.labels[AUX_ADDRESSES_LABEL] ?? '{}') as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, Record<string, string>>) : {};
  } catch {
    return {};
  }
}

export function toDockerNetwork(n: Network, attachments: readonly NetworkAttachment[]): DockerNetwork {
  const aux = auxAddresses(n);
  const ipamType = n.pseudo ? '' : (n.conflist.plugins[0]?.['ipam'] as { type?: unknown } | undefined)?.type;
  return {
    Name: n.name,
    ...(n.id === undefined ? {} : { Id: n.id }),
    ...(n.created === undefined ? {} : { Created: n.created.toISOString() }),
    Scope: 'local',
    Driver: networkDriver(n),
    EnableIPv6: isIPv6Enabled(n),
    Internal: !n.pseudo && isInternal(n),
    DNSEnabled: isDnsEnabled(n),
    IPAM: {
      Driver: typeof ipamType === 'string' ? ipamType : '',
      Config: networkSubnets(n).map((s) => ({
        Subnet: s.subnet,
        ...(s.gateway === undefined ? {} : { Gateway: s.gateway }),
        ...(s.ipRange === undefined ? {} : { IPRange: s.ipRange }),
        ...(aux[s.subnet] === undefined ? {} : { AuxiliaryAddresses: aux[s.subnet] }),
      })),
    },
    Options: networkOptions(n),
    Labels: Object.fromEntries(Object.entries(n.labels).filter(([k]) => k !== AUX_ADDRESSES_LABEL)),
    Containers: Object.fromEntries(
      attachments.map((a) => [
        a.containerId,
        { Name: a.name, EndpointID: a.endpointId, MacAddress: a.macAddress, IPv4Address: a.ipv4Address, IPv6Address: a.ipv6Address },
      ]),
    ),
  };
}
