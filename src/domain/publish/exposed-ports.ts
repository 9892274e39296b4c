/**
 * `--expose`, image ExposedPorts and `-P/--publish-all` (Docker semantics,
 * nerdctl main): every exposed port not published by `-p` gets an automatic
 * host port on 0.0.0.0.
 */
import { invalid } from '../errors.ts';
import { assertNoControlCharacters } from '../text.ts';
import { parsePortRange } from './parse-port-range.ts';
import { DEFAULT_HOST_IP, isProtocol, type Protocol, type PublishRequest } from './port-mapping.ts';

export interface ExposedPort {
  port: number;
  protocol: Protocol;
}

/** "80", "80/udp" or "8000-8010/tcp" (docker's --expose); also an image ExposedPorts key. */
export function parseExposeSpec(spec: string): ExposedPort[] {
  assertNoControlCharacters('--expose', spec);
  if (spec.includes(':')) throw invalid(`invalid port format for --expose: ${spec}`);
  const [portText = '', protoText = 'tcp', ...extra] = spec.split('/');
  const protocol = protoText.toLowerCase();
  if (extra.length > 0 || !isProtocol(protocol)) throw invalid(`invalid protocol for --expose: ${spec}`);
  const range = parsePortRange(portText);
  if (!range) throw invalid(`invalid range format for --expose: ${spec}`);
  const ports: ExposedPort[] = [];
  for (let p = range.start; p <= range.end; p++) ports.push({ port: p, protocol });
  return ports;
}

/** Image ports first, then `--expose` ones, without repeats, sorted by protocol then port. */
export function exposedPorts(exposeFlags: readonly string[], imageExposedPorts: Readonly<Record<string, unknown>> = {}): ExposedPort[] {
  const all = [...Object.keys(imageExposedPorts), ...exposeFlags].flatMap(parseExposeSpec);
  const unique = new Map(all.map((e) => [exposedPortKey(e), e]));
  return [...unique.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
}

/** Config.ExposedPorts of `inspect`: `{"80/tcp":{}}`. */
export function exposedPortsConfig(ports: readonly ExposedPort[]): Record<string, Record<string, never>> {
  return Object.fromEntries(ports.map((e) => [exposedPortKey(e), {}]));
}

/** Automatic-host-port requests for `-P`: the exposed ports that no `-p` request already covers. */
export function publishAllRequests(exposed: readonly ExposedPort[], explicit: readonly PublishRequest[]): PublishRequest[] {
  const covered = (e: ExposedPort) =>
    explicit.some((r) => r.protocol === e.protocol && r.container.start <= e.port && e.port <= r.container.end);
  return exposed
    .filter((e) => !covered(e))
    .map((e) => ({
      hostIP: DEFAULT_HOST_IP,
      protocol: e.protocol,
      container: { start: e.port, end: e.port },
      host: undefined,
      hostText: '',
      containerText: String(e.port),
    }));
}

function exposedPortKey(e: ExposedPort): string {
  return `${e.port}/${e.protocol}`;
}
