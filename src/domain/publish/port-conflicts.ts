/** Whether a host port is free, given the used ports as data (host sockets and other containers). */
import { conflict } from '../errors.ts';
import type { TsnerdError } from '../errors.ts';
import { hostIPsOverlap, joinHostPort } from './host-ip.ts';
import type { PortMapping, Protocol, UsedPort } from './port-mapping.ts';

export function isPortUsed(used: readonly UsedPort[], protocol: Protocol, hostIP: string, port: number): boolean {
  return used.some((u) => u.port === port && u.protocol === protocol && hostIPsOverlap(u.hostIP, hostIP));
}

/** The host side of mappings, as used ports (e.g. other containers' stored mappings). */
export function usedPortsOf(mappings: readonly PortMapping[]): UsedPort[] {
  return mappings.map((m) => ({ protocol: m.protocol, hostIP: m.hostIP, port: m.hostPort }));
}

/** Docker's and nerdctl's text, e.g. `bind for 0.0.0.0:5000 failed: port is already allocated`. */
export function portAllocatedError(hostIP: string, port: number): TsnerdError {
  return conflict(`bind for ${joinHostPort(hostIP, port)} failed: port is already allocated`, {
    details: { hostIP, port },
  });
}

/** The first mapping whose host port is taken, or undefined. */
export function findPortConflict(mappings: readonly PortMapping[], used: readonly UsedPort[]): PortMapping | undefined {
  return mappings.find((m) => isPortUsed(used, m.protocol, m.hostIP, m.hostPort));
}

/** Throws the "port is already allocated" conflict for the first taken host port (e.g. before `start`). */
export function assertPortsFree(mappings: readonly PortMapping[], used: readonly UsedPort[]): void {
  const taken = findPortConflict(mappings, used);
  if (taken) throw portAllocatedError(taken.hostIP, taken.hostPort);
}
