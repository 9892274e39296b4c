/** Whether a host port is free, given the used ports as data (host sockets and other containers). */
import { conflict } from '../errors.ts';
import type { TsnerdError } from '../errors.ts';
import { canonicalIP, hostIPsOverlap, joinHostPort } from './host-ip.ts';
import type { PortMapping, Protocol, UsedPort } from './port-mapping.ts';

export function isPortUsed(used: readonly UsedPort[], protocol: Protocol, hostIP: string, port: number): boolean {
  return portUser(used, protocol, hostIP, port) !== undefined;
}

/** The used port that `hostIP:port` collides with, or undefined. */
export function portUser(used: readonly UsedPort[], protocol: Protocol, hostIP: string, port: number): UsedPort | undefined {
  return used.find((u) => u.port === port && u.protocol === protocol && hostIPsOverlap(u.hostIP, hostIP));
}

/** The host side of mappings, as used ports (e.g. other containers' stored mappings). */
export function usedPortsOf(mappings: readonly PortMapping[]): UsedPort[] {
  return mappings.map((m) => ({ protocol: m.protocol, hostIP: m.hostIP, port: m.hostPort }));
}

/**
 * Docker's and nerdctl's text, e.g. `bind for 0.0.0.0:5000 failed: port is already allocated`.
 * `usedIP`: the address the port is taken on. It is named when it is of the other
 * family (`[::]:5000` taken for a `0.0.0.0:5000` request): the requested address is free there.
 */
export function portAllocatedError(hostIP: string, port: number, usedIP?: string): TsnerdError {
  const v6 = (ip: string) => (canonicalIP(ip) ?? ip).includes(':');
  const taken = usedIP !== undefined && v6(usedIP) !== v6(hostIP) ? usedIP : hostIP;
  return conflict(`bind for ${joinHostPort(taken, port)} failed: port is already allocated`, {
    details: { hostIP: taken, port },
  });
}

/** Throws the "port is already allocated" conflict for the first taken host port (e.g. before `start`). */
export function assertPortsFree(mappings: readonly PortMapping[], used: readonly UsedPort[]): void {
  for (const m of mappings) {
    const user = portUser(used, m.protocol, m.hostIP, m.hostPort);
    if (user) throw portAllocatedError(m.hostIP, m.hostPort, user.hostIP);
  }
}
