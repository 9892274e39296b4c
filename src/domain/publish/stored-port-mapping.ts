/** nerdctl's on-disk form of a mapping (network-config.json; go-cni's struct has no JSON tags). */
import { internal } from '../errors.ts';
import { DEFAULT_HOST_IP, isProtocol, type PortMapping } from './port-mapping.ts';

export interface NerdctlPortMapping {
  HostPort: number;
  ContainerPort: number;
  Protocol: string;
  HostIP: string;
}

export function toNerdctlPortMapping(m: PortMapping): NerdctlPortMapping {
  return { HostPort: m.hostPort, ContainerPort: m.containerPort, Protocol: m.protocol, HostIP: m.hostIP };
}

export function fromNerdctlPortMapping(m: NerdctlPortMapping): PortMapping {
  const protocol = (m.Protocol || 'tcp').toLowerCase();
  if (!isProtocol(protocol)) throw internal(`stored port mapping has an unknown protocol "${m.Protocol}"`);
  return { hostPort: m.HostPort, containerPort: m.ContainerPort, protocol, hostIP: m.HostIP || DEFAULT_HOST_IP };
}
