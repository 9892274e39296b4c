/** IP text helpers for host IPs of published ports (validation, comparison, display). */

export const WILDCARD_V4 = '0.0.0.0';
export const WILDCARD_V6 = '::';

export function parseIPv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

/** The 8 groups of an IPv6 address (with an optional dotted IPv4 tail), or undefined. */
export function parseIPv6(s: string): number[] | undefined {
  if (!s.includes(':')) return undefined;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const dotted = text.slice(lastColon + 1);
  if (dotted.includes('.')) {
    // An embedded IPv4 tail ("::ffff:1.2.3.4") stands for the last two groups.
    const v4 = parseIPv4(dotted);
    if (!v4) return undefined;
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16);
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string | undefined): number[] | undefined => {
    if (h === undefined || h === '') return [];
    const out = h.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN));
    return out.some(Number.isNaN) ? undefined : out;
  };
  const head = groups(halves[0]);
  const rest = groups(halves[1]);
  if (!head || !rest) return undefined;
  const total = head.length + rest.length;
  if (halves.length === 2) {
    if (total > 7) return undefined;
    return [...head, ...new Array<number>(8 - total).fill(0), ...rest];
  }
  return total === 8 ? head : undefined;
}

export function isIP(s: string): boolean {
  return parseIPv4(s) !== undefined || parseIPv6(s) !== undefined;
}

export function isIPv6Text(s: string): boolean {
  return parseIPv4(s) === undefined && parseIPv6(s) !== undefined;
}

/**
 * A comparable form: dotted IPv4 (also for IPv4-mapped IPv6) or fully
 * expanded lower-case IPv6, so "::0" equals "::" and "::ffff:127.0.0.1" equals "127.0.0.1".
 */
export function canonicalIP(s: string): string | undefined {
  const v4 = parseIPv4(s);
  if (v4) return v4.join('.');
  const v6 = parseIPv6(s);
  if (!v6) return undefined;
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return [v6[6]! >> 8, v6[6]! & 0xff, v6[7]! >> 8, v6[7]! & 0xff].join('.');
  }
  return formatIPv6(v6);
}

/** RFC 5952 text: lower-case, longest zero run (length >= 2) compressed. */
export function formatIPv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function isWildcard(ip: string): boolean {
  const c = canonicalIP(ip);
  return c === WILDCARD_V4 || c === WILDCARD_V6;
}

/**
 * Whether two host IPs can collide on one port. "::" covers IPv4 too
 * (Linux dual-stack sockets); "0.0.0.0" covers every IPv4 address.
 */
export function hostIPsOverlap(a: string, b: string): boolean {
  const ca = canonicalIP(a) ?? a;
  const cb = canonicalIP(b) ?? b;
  if (ca === cb || ca === WILDCARD_V6 || cb === WILDCARD_V6) return true;
  if (ca === WILDCARD_V4) return parseIPv4(cb) !== undefined;
  if (cb === WILDCARD_V4) return parseIPv4(ca) !== undefined;
  return false;
}

/** "ip:port", with brackets for IPv6 (Go net.JoinHostPort). */
export function joinHostPort(ip: string, port: number | string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
