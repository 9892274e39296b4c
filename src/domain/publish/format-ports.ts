/** How published ports are shown: `ps` PORTS column, `port` lines, `inspect` port maps. */
import { invalid, notFound } from '../errors.ts';
import { joinHostPort } from './host-ip.ts';
import { isProtocol, type PortMapping, type Protocol } from './port-mapping.ts';
import { quote } from '../text.ts';

/**
 * The `ps` PORTS column: grouped by host IP and protocol, runs of consecutive
 * host and container ports folded, e.g. `127.0.0.1:7000-7005->79-84/tcp, 0.0.0.0:8080->80/tcp`.
 */
export function formatPortsColumn(mappings: readonly PortMapping[]): string {
  const groups = new Map<string, PortMapping[]>();
  for (const m of mappings) {
    const key = `${m.hostIP}/${m.protocol}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const parts: string[] = [];
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => a.hostPort - b.hostPort || a.containerPort - b.containerPort);
    let first = sorted[0]!;
    let last = first;
    for (const m of [...sorted.slice(1), undefined]) {
      if (m && m.hostPort === last.hostPort + 1 && m.containerPort === last.containerPort + 1) {
        last = m;
        continue;
      }
      parts.push(
        `${joinHostPort(first.hostIP, span(first.hostPort, last.hostPort))}->${span(first.containerPort, last.containerPort)}/${first.protocol}`,
      );
      if (m) first = last = m;
    }
  }
  return parts.join(', ');
}

function span(start: number, end: number): string {
  return start === end ? String(start) : `${start}-${end}`;
}

/** `tsnerd port CTR` lines: one per mapping, `80/tcp -> 0.0.0.0:8080`. */
export function formatPortLines(mappings: readonly PortMapping[]): string[] {
  return mappings.map((m) => `${m.containerPort}/${m.protocol} -> ${joinHostPort(m.hostIP, m.hostPort)}`);
}

export interface PortQuery {
  port: number;
  protocol: Protocol;
}

/** The `PRIVATE_PORT[/PROTO]` argument of `tsnerd port` (protocol defaults to tcp). */
export function parsePortQuery(text: string): PortQuery {
  const [portText = '', protoText = 'tcp', ...extra] = text.split('/');
  const protocol = protoText.toLowerCase();
  if (extra.length > 0 || !isProtocol(protocol)) throw invalid(`invalid protocol ${quote(protoText)}`);
  if (!/^-?\d+$/.test(portText)) throw invalid(`invalid port ${quote(portText)}`);
  const port = Number(portText);
  if (port <= 0) throw invalid('unexpected port');
  if (port > 65535) throw invalid(`invalid port ${quote(portText)}`);
  return { port, protocol };
}

/** `tsnerd port CTR 80/tcp`: `0.0.0.0:8080` of the first match (nerdctl), or the not-found error. */
export function lookupPublicPort(mappings: readonly PortMapping[], query: PortQuery, containerId: string): string {
  const m = mappings.find((x) => x.containerPort === query.port && x.protocol === query.protocol);
  if (!m) throw notFound(`no public port ${query.port}/${query.protocol} published for "${containerId}"`);
  return joinHostPort(m.hostIP, m.hostPort);
}

export interface DockerPortBinding {
  HostIp: string;
  HostPort: string;
}

/**
 * Docker's NetworkSettings.Ports and HostConfig.PortBindings shape:
 * `{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}`.
 */
export function dockerPortMap(mappings: readonly PortMapping[]): Record<string, DockerPortBinding[]> {
  const out: Record<string, DockerPortBinding[]> = {};
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    (out[key] ??= []).push({ HostIp: m.hostIP, HostPort: String(m.hostPort) });
  }
  return out;
}
