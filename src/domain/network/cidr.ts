/** Address parsing and arithmetic for subnets, gateways and ranges (ip-num underneath). */
import { collapseIPv6Number, IPv4, IPv4CidrRange, IPv6, IPv6CidrRange, Validator } from 'ip-num';

export type Family = 4 | 6;
export type Ip = IPv4 | IPv6;

export interface Cidr {
  family: Family;
  /** As written by the user, e.g. "10.5.0.1/16". */
  input: string;
  /** The network address with the prefix, e.g. "10.5.0.0/16" (IPv6 compressed). */
  text: string;
  prefix: number;
  /** False when the address part has host bits set. */
  canonical: boolean;
  range: IPv4CidrRange | IPv6CidrRange;
}

export function formatIp(ip: Ip): string {
  return ip instanceof IPv6 ? collapseIPv6Number(ip.toString()) : ip.toString();
}

export function parseIp(text: string): Ip | undefined {
  if (Validator.isValidIPv4String(text)[0]) return IPv4.fromString(text);
  if (Validator.isValidIPv6String(text)[0]) return IPv6.fromString(text);
  return undefined;
}

export function parseCidr(input: string): Cidr | undefined {
  const [address, prefixText, ...rest] = input.split('/');
  if (address === undefined || prefixText === undefined || rest.length > 0 || !/^\d+$/.test(prefixText)) return undefined;
  const ip = parseIp(address);
  const prefix = Number(prefixText);
  if (!ip || prefix > (ip instanceof IPv4 ? 32 : 128)) return undefined;
  const range = ip instanceof IPv4 ? IPv4CidrRange.fromCidr(`${address}/${prefix}`) : IPv6CidrRange.fromCidr(`${address}/${prefix}`);
  const first = range.getFirst();
  return {
    family: ip instanceof IPv4 ? 4 : 6,
    input,
    text: `${formatIp(first)}/${prefix}`,
    prefix,
    canonical: first.isEquals(ip),
    range,
  };
}

export function familyOf(ip: Ip): Family {
  return ip instanceof IPv4 ? 4 : 6;
}

export function containsIp(cidr: Cidr, ip: Ip): boolean {
  return familyOf(ip) === cidr.family && cidr.range.contains(ip as never);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.range.isOverlapping(b.range as never);
}

export function firstHost(cidr: Cidr): Ip {
  return cidr.range.getFirst().nextIPNumber();
}

export function lastAddress(cidr: Cidr): Ip {
  return cidr.range.getLast();
}

/** The next block of the same size, or undefined at the end of the address space. */
export function nextCidr(cidr: Cidr): Cidr | undefined {
  const next = cidr.range.nextRange();
  return next ? parseCidr(next.toCidrString()) : undefined;
}

/**
 * Ranges a container network cannot use: the kernel or the IP rules give them
 * another meaning (RFC 6890): "this network", loopback, link-local, multicast,
 * the reserved class E and broadcast, and IPv6's unspecified, loopback,
 * IPv4-mapped, link-local and multicast blocks.
 */
const SPECIAL_RANGES: readonly { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: '"this network"' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved (class E)' },
  { cidr: '::/128', what: 'unspecified' },
  { cidr: '::1/128', what: 'loopback' },
  { cidr: '::ffff:0:0/96', what: 'IPv4-mapped' },
  { cidr: 'fe80::/10', what: 'link-local' },
  { cidr: 'ff00::/8', what: 'multicast' },
];

let special: { cidr: Cidr; what: string }[] | undefined;

/** The first special range `cidr` overlaps, if any. */
export function specialRangeOf(cidr: Cidr): { cidr: string; what: string } | undefined {
  special ??= SPECIAL_RANGES.map((r) => ({ cidr: parseCidr(r.cidr)!, what: r.what }));
  const hit = special.find((r) => overlaps(cidr, r.cidr));
  return hit && { cidr: hit.cidr.text, what: hit.what };
}
