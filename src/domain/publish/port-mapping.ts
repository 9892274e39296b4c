/** Published ports: the shapes shared by parsing, allocation, CNI portmap and rendering. */

export const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * One host port forwarded to one container port, in the CNI portmap
 * `portMappings` capability shape (CONVENTIONS.md). hostIP is "0.0.0.0" when
 * the user gave none, as nerdctl passes it.
 */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  hostIP: string;
}

/** One host socket the port reserver binds: the host side of a PortMapping. */
export interface HostBinding {
  protocol: string;
  hostIP: string;
  hostPort: number;
}

/** A host port already taken: by a socket on the host or published by another container. */
export interface UsedPort {
  protocol: Protocol;
  hostIP: string;
  port: number;
}

export interface PortRange {
  start: number;
  end: number;
}

/** One parsed `-p` value, before host ports are chosen. */
export interface PublishRequest {
  hostIP: string;
  protocol: Protocol;
  container: PortRange;
  /** undefined: allocate automatically. A range with one container port is a pool. */
  host: PortRange | undefined;
  /** The host-port text as typed, for error messages. */
  hostText: string;
  containerText: string;
}

export const DEFAULT_HOST_IP = '0.0.0.0';

/** Docker's ephemeral range for automatic host ports (libnetwork portallocator). */
export const AUTO_PORT_RANGE: PortRange = { start: 49153, end: 60999 };

export function isProtocol(s: string): s is Protocol {
  return (PROTOCOLS as readonly string[]).includes(s);
}

export function rangeLength(r: PortRange): number {
  return r.end - r.start + 1;
}
