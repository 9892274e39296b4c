/**
 * Turns parsed `-p` requests into concrete mappings: explicit host ports are
 * checked, pools take their first free port, empty host ports are allocated.
 * Ports chosen for earlier requests of the same call count as used.
 */
import { conflict } from '../errors.ts';
import { allocateHostPorts } from './allocate-host-ports.ts';
import { isPortUsed, portAllocatedError, portUser, usedPortsOf } from './port-conflicts.ts';
import { rangeLength, type PortMapping, type PortRange, type PublishRequest, type UsedPort } from './port-mapping.ts';

export function resolvePortMappings(requests: readonly PublishRequest[], used: readonly UsedPort[]): PortMapping[] {
  const mappings: PortMapping[] = [];
  for (const request of requests) {
    const taken = [...used, ...usedPortsOf(mappings)];
    const host = chooseHostPorts(request, taken);
    for (let i = 0; i < rangeLength(request.container); i++) {
      mappings.push({
        hostPort: host.start + i,
        containerPort: request.container.start + i,
        protocol: request.protocol,
        hostIP: request.hostIP,
      });
    }
  }
  return mappings;
}

function chooseHostPorts(request: PublishRequest, used: readonly UsedPort[]): PortRange {
  const { host, protocol, hostIP } = request;
  const free = (p: number) => !isPortUsed(used, protocol, hostIP, p);
  if (!host) return allocateHostPorts(rangeLength(request.container), protocol, hostIP, used);
  if (rangeLength(request.container) === 1 && rangeLength(host) > 1) {
    for (let p = host.start; p <= host.end; p++) if (free(p)) return { start: p, end: p };
    throw conflict(`bind for ${hostIP} failed: all ports in range ${request.hostText} are already allocated`);
  }
  for (let p = host.start; p <= host.end; p++) {
    const user = portUser(used, protocol, hostIP, p);
    if (user) throw portAllocatedError(hostIP, p, user.hostIP);
  }
  return host;
}
