/** Automatic host ports: the first contiguous free block of Docker's range (49153-60999). */
import { conflict, invalid } from '../errors.ts';
import { isPortUsed } from './port-conflicts.ts';
import { AUTO_PORT_RANGE, rangeLength, type PortRange, type Protocol, type UsedPort } from './port-mapping.ts';

export function allocateHostPorts(
  count: number,
  protocol: Protocol,
  hostIP: string,
  used: readonly UsedPort[],
  pool: PortRange = AUTO_PORT_RANGE,
): PortRange {
  if (count > rangeLength(pool)) throw invalid(`can not allocate ${count} ports`);
  let start = pool.start;
  while (start + count - 1 <= pool.end) {
    let blocked = -1;
    for (let p = start + count - 1; p >= start; p--) {
      if (isPortUsed(used, protocol, hostIP, p)) {
        blocked = p;
        break;
      }
    }
    if (blocked < 0) return { start, end: start + count - 1 };
    start = blocked + 1;
  }
  throw conflict(`no ${count} free contiguous host ports left in ${pool.start}-${pool.end} for ${hostIP}/${protocol}`);
}
