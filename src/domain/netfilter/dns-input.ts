/**
 * The rules that let a network's containers reach the embedded resolver on a host whose INPUT
 * chain drops by default (ufw's policy, a firewall's own DROP rules; podman#23247): per network
 * with DNS, in the filter table's INPUT chain, inserted at its top (before the host's own drop
 * rules), one ACCEPT per (subnet, gateway) of a family and transport:
 *
 *   -A INPUT -s <subnet> -d <gateway>/32 -i <bridge> -p udp -m udp --dport 53 -m comment --comment tsnerd-dns -j ACCEPT
 *
 * and the same with tcp, in ip6tables for the IPv6 gateways. The comment marks them as
 * tsnerd's; the bridge (`-i`) says whose they are. They belong to the bridge: made when the
 * resolver first serves the network (its first container), removed with the bridge
 * (`network rm`, `network gc`), or by the rollback of the start that made them (docs/dns.md).
 *
 * With `dns_bind_port` (the resolver on another port than 53, Podman's containers.conf option for a
 * host whose own DNS server holds `0.0.0.0:53`), the INPUT rules accept that port, and the nat
 * table's PREROUTING chain takes the containers' queries to the gateway's port 53 there, inserted
 * at its top (before portmap's jump to CNI-HOSTPORT-DNAT, so a published port 53 cannot shadow them):
 *
 *   -A PREROUTING -d <gateway>/32 -i <bridge> -p udp -m udp --dport 53 -m comment --comment tsnerd-dns -j DNAT --to-destination <gateway>:<port>
 */
import { isIPv4, isIPv6 } from 'node:net';
import { bridgeLinkName, networkSubnets, type Network } from '../network/network.ts';

export const DNS_RULE_COMMENT = 'tsnerd-dns';
/** The port containers ask (their resolv.conf names the gateway, port 53). */
export const DNS_PORT = 53;
const PROTOCOLS = ['udp', 'tcp'] as const;

/** What a network's rules are made of: its bridge, each gateway with the subnets of its family, and the resolver's port. */
export interface DnsInputSpec {
  bridge: string;
  /** Each gateway with each subnet of its family (canonical: `10.1.2.0/24`, `10.1.2.1`). */
  pairs: { subnet: string; gateway: string }[];
  port: number;
}

/** One rule as `iptables -S` shows it, read back. */
export interface DnsInputRule {
  bridge: string;
  source: string;
  destination: string;
  protocol: string;
  port: number;
}

/** The rules a network with DNS needs (undefined: none, e.g. no bridge or no gateway). */
export function dnsInputSpecOf(n: Network, port = DNS_PORT): DnsInputSpec | undefined {
  const bridge = bridgeLinkName(n);
  if (bridge === undefined || !/^[A-Za-z0-9_.:-]{1,15}$/.test(bridge)) return undefined;
  const subnets = networkSubnets(n).flatMap((s) => {
    const cidr = canonicalCidr(s.subnet);
    const gateway = s.gateway === undefined ? undefined : canonicalAddress(s.gateway);
    return cidr ? [{ cidr, family: familyOfAddress(cidr), gateway }] : [];
  });
  const pairs: DnsInputSpec['pairs'] = [];
  for (const g of subnets) {
    if (g.gateway === undefined) continue;
    for (const s of subnets) if (s.family === g.family) pairs.push({ subnet: s.cidr, gateway: g.gateway });
  }
  return pairs.length === 0 ? undefined : { bridge, pairs: uniquePairs(pairs), port };
}

function uniquePairs(pairs: DnsInputSpec['pairs']): DnsInputSpec['pairs'] {
  const seen = new Map(pairs.map((p) => [`${p.subnet} ${p.gateway}`, p]));
  return [...seen.values()];
}

export type IpFamily = 4 | 6;

const familyOfAddress = (a: string): IpFamily => (a.includes(':') ? 6 : 4);

/** The rules of `spec` in one family, as `iptables -S` prints them (`-A INPUT …`). */
export function dnsInputRules(spec: DnsInputSpec, family: IpFamily): string[] {
  const hostBits = family === 4 ? 32 : 128;
  return spec.pairs
    .filter((p) => familyOfAddress(p.gateway) === family)
    .flatMap((p) =>
      PROTOCOLS.map(
        (proto) =>
          `-A INPUT -s ${p.subnet} -d ${p.gateway}/${hostBits} -i ${spec.bridge} -p ${proto} -m ${proto} --dport ${spec.port} -m comment --comment ${DNS_RULE_COMMENT} -j ACCEPT`,
      ),
    );
}

/** The families `spec` has rules in. */
export function dnsInputFamilies(spec: DnsInputSpec): IpFamily[] {
  return ([4, 6] as const).filter((f) => spec.pairs.some((p) => familyOfAddress(p.gateway) === f));
}

/** A tsnerd DNS rule read from an `iptables -S` line, or undefined for any other line. */
export function parseDnsInputRule(line: string): DnsInputRule | undefined {
  if (!line.startsWith('-A INPUT ') || !line.includes(`--comment ${DNS_RULE_COMMENT} `)) return undefined;
  const field = (flag: string) => new RegExp(` ${flag} (\\S+)`).exec(line)?.[1];
  const [bridge, source, destination, protocol, port] = [field('-i'), field('-s'), field('-d'), field('-p'), field('--dport')];
  if (!bridge || !source || !destination || !protocol || !port) return undefined;
  return { bridge, source, destination, protocol, port: Number(port) };
}

/**
 * iptables-restore commands (one family) that insert at the top of INPUT the rules of `spec` that
 * `listed` (`iptables -S INPUT` lines) does not have; each rule once, whatever else is listed.
 */
export function missingDnsInputRules(spec: DnsInputSpec, family: IpFamily, listed: readonly string[]): string[] {
  const have = new Set(listed.filter((l) => parseDnsInputRule(l) !== undefined).map(ruleKey));
  return dnsInputRules(spec, family)
    .filter((r) => !have.has(ruleKey(r)))
    .map((r) => `-I INPUT 1${r.slice('-A INPUT'.length)}`);
}

/** iptables-restore commands deleting every tsnerd DNS rule of `bridge` among `listed` (duplicates too). */
export function dnsInputRulesOf(bridge: string, listed: readonly string[]): string[] {
  return listed.filter((l) => parseDnsInputRule(l)?.bridge === bridge).map((l) => `-D${l.slice(2)}`);
}

/** The bridges that tsnerd DNS rules among `listed` name. */
export function dnsInputBridges(listed: readonly string[]): string[] {
  return [...new Set(listed.flatMap((l) => parseDnsInputRule(l)?.bridge ?? []))];
}

function ruleKey(line: string): string {
  const r = parseDnsInputRule(line);
  if (r === undefined) return line;
  return `${r.bridge} ${canonicalCidr(r.source) ?? r.source} ${canonicalCidr(r.destination) ?? r.destination} ${r.protocol} ${r.port}`;
}

/** One DNAT rule of tsnerd's in nat PREROUTING, read back from `iptables -S`. */
export interface DnsDnatRule {
  bridge: string;
  destination: string;
  protocol: string;
  /** `--to-destination` as printed: `10.1.2.1:5353`, `[fd00::1]:5353`. */
  to: string;
}

/**
 * The nat PREROUTING rules of `spec` in one family, as `iptables -S` prints them: none when the
 * resolver listens on port 53; else per gateway and transport a DNAT of port 53 to its port.
 */
export function dnsDnatRules(spec: DnsInputSpec, family: IpFamily): string[] {
  if (spec.port === DNS_PORT) return [];
  const hostBits = family === 4 ? 32 : 128;
  const gateways = [...new Set(spec.pairs.map((p) => p.gateway).filter((g) => familyOfAddress(g) === family))];
  return gateways.flatMap((gw) =>
    PROTOCOLS.map(
      (proto) =>
        `-A PREROUTING -d ${gw}/${hostBits} -i ${spec.bridge} -p ${proto} -m ${proto} --dport ${DNS_PORT} -m comment --comment ${DNS_RULE_COMMENT} -j DNAT --to-destination ${family === 6 ? `[${gw}]` : gw}:${spec.port}`,
    ),
  );
}

/** A tsnerd DNAT rule read from an `iptables -t nat -S` line, or undefined for any other line. */
export function parseDnsDnatRule(line: string): DnsDnatRule | undefined {
  if (!line.startsWith('-A PREROUTING ') || !line.includes(`--comment ${DNS_RULE_COMMENT} `)) return undefined;
  const field = (flag: string) => new RegExp(` ${flag} (\\S+)`).exec(line)?.[1];
  const [bridge, destination, protocol, to] = [field('-i'), field('-d'), field('-p'), field('--to-destination')];
  if (!bridge || !destination || !protocol || !to) return undefined;
  return { bridge, destination, protocol, to };
}

/**
 * iptables-restore commands (one family, nat table) that insert at the top of PREROUTING the DNAT
 * rules of `spec` that `listed` (`iptables -t nat -S PREROUTING` lines) does not have.
 */
export function missingDnsDnatRules(spec: DnsInputSpec, family: IpFamily, listed: readonly string[]): string[] {
  const have = new Set(listed.filter((l) => parseDnsDnatRule(l) !== undefined).map(dnatKey));
  return dnsDnatRules(spec, family)
    .filter((r) => !have.has(dnatKey(r)))
    .map((r) => `-I PREROUTING 1${r.slice('-A PREROUTING'.length)}`);
}

/** iptables-restore commands deleting every tsnerd DNAT rule of `bridge` among `listed` (duplicates too). */
export function dnsDnatRulesOf(bridge: string, listed: readonly string[]): string[] {
  return listed.filter((l) => parseDnsDnatRule(l)?.bridge === bridge).map((l) => `-D${l.slice(2)}`);
}

/** The bridges that tsnerd DNAT rules among `listed` name. */
export function dnsDnatBridges(listed: readonly string[]): string[] {
  return [...new Set(listed.flatMap((l) => parseDnsDnatRule(l)?.bridge ?? []))];
}

function dnatKey(line: string): string {
  const r = parseDnsDnatRule(line);
  return r === undefined ? line : `${r.bridge} ${canonicalCidr(r.destination) ?? r.destination} ${r.protocol} ${r.to}`;
}

/**
 * An address as iptables prints it: IPv4 dotted, IPv6 compressed and lower case (the URL
 * standard's form, RFC 5952's); undefined if it is neither. Written here rather than with
 * ip-num, which the hook's start-up does not load.
 */
export function canonicalAddress(a: string): string | undefined {
  if (isIPv4(a)) return a.split('.').map(Number).join('.');
  if (isIPv6(a) && !a.includes('%')) return new URL(`http://[${a}]`).hostname.slice(1, -1);
  return undefined;
}

/** A subnet with its host bits cleared, as iptables prints a source (`10.1.2.0/24`); undefined if not one. */
export function canonicalCidr(c: string): string | undefined {
  const [address, prefixText, ...rest] = c.split('/');
  const canonical = address === undefined ? undefined : canonicalAddress(address);
  if (canonical === undefined || rest.length > 0 || prefixText === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const v6 = canonical.includes(':');
  if (prefix > (v6 ? 128 : 32)) return undefined;
  const bytes = v6 ? ipv6Bytes(canonical) : canonical.split('.').map(Number);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  if (!v6) return `${bytes.join('.')}/${prefix}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  return `${canonicalAddress(groups.join(':'))}/${prefix}`;
}

/** The 16 bytes of a compressed IPv6 address (as canonicalAddress writes it: no dotted tail). */
function ipv6Bytes(a: string): number[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const left = head === '' ? [] : head!.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}
