/**
 * How many ports one container may publish. The portmap plugin adds its DNAT
 * rules one iptables call at a time (~30 ms a port on a 2-core VM, measured:
 * 100 ports +4 s, 300 ports +7 s on `run`, 1,000 ports past containerd's 30 s
 * tasks.Create deadline), so a large range is refused before anything exists.
 */
import { invalid } from '../errors.ts';
import { rangeLength, type PublishRequest } from './port-mapping.ts';

export const MAX_PUBLISHED_PORTS = 256;

export function assertPublishLimit(requests: readonly PublishRequest[]): void {
  const total = requests.reduce((n, r) => n + rangeLength(r.container), 0);
  if (total <= MAX_PUBLISHED_PORTS) return;
  throw invalid(`cannot publish ${total} ports: a container publishes at most ${MAX_PUBLISHED_PORTS} (-p and -P together)`);
}
