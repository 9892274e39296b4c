/**
 * The `-p/--publish` grammar `[hostIP:][hostPort[-end]:]containerPort[-end][/proto]`,
 * with nerdctl's error texts (pkg/portutil ParseFlagP). Pure: choosing free
 * host ports is resolvePortMappings' job, given the used ports as data.
 */
import { invalid } from '../errors.ts';
import { isIP, isIPv6Text } from './host-ip.ts';
import { parsePortRange } from './parse-port-range.ts';
import { DEFAULT_HOST_IP, isProtocol, rangeLength, type Protocol, type PublishRequest } from './port-mapping.ts';
import { assertNoControlCharacters, quote } from '../text.ts';

export function parsePublishSpec(spec: string): PublishRequest {
  // nerdctl's messages below echo parts of the value as is: control characters are refused first.
  assertNoControlCharacters('--publish', spec);
  const bySlash = spec.split('/');
  if (bySlash.length > 2) throw invalid(`failed to parse "${spec}", unexpected slashes`);
  const protocol = parseProtocol(bySlash[1]);
  const ports = bySlash[0]!;

  const { ip, hostText, containerText } = splitParts(ports);
  if (containerText === '') throw invalid(`no port specified: ${ports}`);
  const container = parsePortRange(containerText);
  if (!container) throw invalid(`invalid containerPort: ${containerText}`);

  let host: PublishRequest['host'];
  if (hostText !== '') {
    host = parsePortRange(hostText);
    if (!host) throw invalid(invalidHostPortMessage(hostText, containerText));
    // One container port with a host range is a pool (Docker); otherwise lengths must match.
    if (rangeLength(container) !== 1 && rangeLength(container) !== rangeLength(host)) {
      throw invalid(`invalid ranges specified for container and host Ports: ${containerText} and ${hostText}`);
    }
  }
  if (ip !== '' && !isIP(ip)) throw invalid(`invalid ip address: ${ip}`);
  return { hostIP: ip === '' ? DEFAULT_HOST_IP : ip, protocol, container, host, hostText, containerText };
}

/** Parses every value, dropping exact repeats (nerdctl's flag is a deduplicated slice). */
export function parsePublishSpecs(specs: readonly string[]): PublishRequest[] {
  return [...new Set(specs)].map(parsePublishSpec);
}

function parseProtocol(text: string | undefined): Protocol {
  if (text === undefined) return 'tcp';
  const lower = text.toLowerCase();
  if (!isProtocol(lower)) throw invalid(`invalid protocol ${quote(text)}`);
  return lower;
}

/** The last ":" ends the host part, which is "ip:port" if Go's net.SplitHostPort accepts it, else just a port. */
function splitParts(ports: string): { ip: string; hostText: string; containerText: string } {
  const last = ports.lastIndexOf(':');
  if (last < 0) return { ip: '', hostText: '', containerText: ports };
  const hostPart = ports.slice(0, last);
  const split = splitHostPort(hostPart);
  return {
    ip: split?.host ?? '',
    hostText: split?.port ?? hostPart,
    containerText: ports.slice(last + 1),
  };
}

/** Go's net.SplitHostPort: undefined where Go returns an error. */
export function splitHostPort(s: string): { host: string; port: string } | undefined {
  const i = s.lastIndexOf(':');
  if (i < 0) return undefined;
  let host: string;
  let afterOpen = 0;
  let afterClose = 0;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || end + 1 !== i) return undefined;
    host = s.slice(1, end);
    afterOpen = 1;
    afterClose = end + 1;
  } else {
    host = s.slice(0, i);
    if (host.includes(':')) return undefined;
  }
  if (s.indexOf('[', afterOpen) >= 0 || s.indexOf(']', afterClose) >= 0) return undefined;
  return { host, port: s.slice(i + 1) };
}

/** Names the usual mistake: an IPv6 host IP without brackets ("::1:80:80"). */
function invalidHostPortMessage(hostText: string, containerText: string): string {
  const base = `invalid hostPort: ${hostText}`;
  const last = hostText.lastIndexOf(':');
  if (last < 0) return base;
  const ip = hostText.slice(0, last);
  const port = hostText.slice(last + 1);
  if (!isIPv6Text(ip)) return base;
  return `${base} (an IPv6 host IP must be in brackets: "[${ip}]:${port}:${containerText}")`;
}
