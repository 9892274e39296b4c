/**
 * The embedded resolver's answers, from the record set: per network (of one
 * containerd namespace), its containers' names (short and `NAME.NETWORK`),
 * A/AAAA (round-robin when a name has several addresses) and PTR for their
 * IPs. A container sees the names of every network it is on (found by the
 * query's source address, as Docker's resolver does), never those of another
 * namespace; any other client (the host) those of the networks the query
 * arrived on.
 * Unknown names in those networks' domains are NXDOMAIN; anything else is
 * forwarded, except from a container whose networks are all internal, which
 * have no way out (SERVFAIL, as a resolver without upstream servers answers).
 */
import { isIPv4 } from 'node:net';
import { networkKey, type DnsEndpointRecord, type DnsRecordSet, type RemoteRecordSet } from './records.ts';

/** Long enough for clients that cache, short enough that a replaced container is not served long. */
export const LOCAL_TTL = 60;

export interface LocalRecord {
  name: string;
  type: 'A' | 'AAAA' | 'PTR';
  ttl: number;
  data: string;
}

export type ZoneAnswer =
  { kind: 'local'; rcode: 'NOERROR' | 'NXDOMAIN'; answers: LocalRecord[] } | { kind: 'forward' } | { kind: 'servfail' };

interface NameEntry {
  v4: string[];
  v6: string[];
  /** Round-robin position: each answer starts one address further. */
  turn: number;
}

interface NetworkZone {
  name: string;
  domain: string;
  internal: boolean;
  names: Map<string, NameEntry>;
  ptr: Map<string, string>;
}

/** An immutable snapshot of the record set, indexed for lookups by the address a query arrived on. */
export class DnsZones {
  /** Several zones share a gateway when namespaces have networks of one name on one bridge. */
  private readonly byGateway = new Map<string, NetworkZone[]>();
  /** The port the resolver serves each gateway on, when not its default (`dns_bind_port`; the first network's). */
  private readonly portByGateway = new Map<string, number>();
  /** A container address -> the zones of every network that container is on. */
  private readonly bySource = new Map<string, NetworkZone[]>();

  /** `remote`: other hosts' containers on overlay networks (by network; served only where a local network of that key is). */
  constructor(set: DnsRecordSet, remote: readonly RemoteRecordSet[] = []) {
    const zones = new Map<string, NetworkZone>();
    for (const [key, net] of Object.entries(set.networks)) {
      const name = key.slice(key.indexOf('/') + 1);
      const zone: NetworkZone = { name, domain: name.toLowerCase(), internal: net.internal, names: new Map(), ptr: new Map() };
      zones.set(key, zone);
      for (const gw of net.gateways) {
        this.byGateway.set(gw, [...(this.byGateway.get(gw) ?? []), zone]);
        if (net.port !== undefined && !this.portByGateway.has(gw)) this.portByGateway.set(gw, net.port);
      }
    }
    const zoneOf = (e: DnsEndpointRecord) => zones.get(networkKey(e.namespace, e.network));
    const byContainer = new Map<string, DnsEndpointRecord[]>();
    // Sorted keys: the same record set gives the same answer order in every process.
    for (const key of Object.keys(set.endpoints).sort()) {
      const e = set.endpoints[key]!;
      const zone = zoneOf(e);
      if (!zone) continue;
      addNames(zone, e, true);
      const container = `${e.namespace}/${e.id}`;
      byContainer.set(container, [...(byContainer.get(container) ?? []), e]);
    }
    for (const endpoints of byContainer.values()) {
      const own = endpoints.flatMap((e) => zoneOf(e) ?? []);
      for (const e of endpoints) for (const ip of e.ips) this.bySource.set(ip, own);
    }
    // After the local names: a name on several hosts answers all its addresses, round-robin (Docker's resolver has no
    // preference for its own host either); an address's PTR is the local container's if one has it.
    for (const r of [...remote].sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0))) {
      const zone = zones.get(r.network);
      if (!zone) continue;
      for (const key of Object.keys(r.endpoints).sort()) addNames(zone, r.endpoints[key]!, false);
    }
  }

  /** The gateway addresses to listen on. */
  gateways(): string[] {
    return [...this.byGateway.keys()];
  }

  /** Where to listen: each gateway with its port (`defaultPort` for networks without one). */
  listenAddresses(defaultPort: number): { gateway: string; port: number }[] {
    return this.gateways().map((gateway) => ({ gateway, port: this.portByGateway.get(gateway) ?? defaultPort }));
  }

  hasGateway(ip: string): boolean {
    return this.byGateway.has(ip);
  }

  /**
   * `qname` as the client wrote it (its case is kept in the answer); `gateway`
   * is where the query arrived, `source` who sent it.
   */
  answer(gateway: string, source: string, qname: string, qtype: string): ZoneAnswer {
    const zones = this.bySource.get(source) ?? this.byGateway.get(gateway) ?? [];
    if (zones.length === 0) return { kind: 'servfail' };
    const name = qname.replace(/\.$/, '').toLowerCase();
    for (const zone of zones) {
      const ptr = zone.ptr.get(name);
      if (ptr !== undefined) {
        return {
          kind: 'local',
          rcode: 'NOERROR',
          answers: qtype === 'PTR' || qtype === 'ANY' ? [{ name: qname, type: 'PTR', ttl: LOCAL_TTL, data: ptr }] : [],
        };
      }
      const entry = zone.names.get(name);
      if (entry) return { kind: 'local', rcode: 'NOERROR', answers: addressAnswers(qname, qtype, entry) };
    }
    if (zones.some((z) => name === z.domain || name.endsWith(`.${z.domain}`))) return { kind: 'local', rcode: 'NXDOMAIN', answers: [] };
    return zones.every((z) => z.internal) ? { kind: 'servfail' } : { kind: 'forward' };
  }
}

/** A container's names (short and `NAME.NETWORK`) and the PTR of its addresses, in a network's zone. */
function addNames(
  zone: NetworkZone,
  e: { names: readonly string[]; aliases: readonly string[]; ips: readonly string[] },
  /** Local records replace an address's PTR (the last one wins); remote ones never replace one. */
  replacePtr: boolean,
): void {
  for (const n of [...e.names, ...e.aliases]) {
    for (const fqdn of [n.toLowerCase(), `${n.toLowerCase()}.${zone.domain}`]) {
      let entry = zone.names.get(fqdn);
      if (!entry) zone.names.set(fqdn, (entry = { v4: [], v6: [], turn: 0 }));
      for (const ip of e.ips) {
        const list = isIPv4(ip) ? entry.v4 : entry.v6;
        if (!list.includes(ip)) list.push(ip);
      }
    }
  }
  const primary = e.names[0];
  if (primary === undefined) return;
  for (const ip of e.ips) {
    const reverse = reverseName(ip);
    if (replacePtr || !zone.ptr.has(reverse)) zone.ptr.set(reverse, `${primary}.${zone.name}`);
  }
}

function addressAnswers(qname: string, qtype: string, entry: NameEntry): LocalRecord[] {
  const turn = entry.turn++;
  const out: LocalRecord[] = [];
  if (qtype === 'A' || qtype === 'ANY')
    for (const ip of rotate(entry.v4, turn)) out.push({ name: qname, type: 'A', ttl: LOCAL_TTL, data: ip });
  if (qtype === 'AAAA' || qtype === 'ANY')
    for (const ip of rotate(entry.v6, turn)) out.push({ name: qname, type: 'AAAA', ttl: LOCAL_TTL, data: ip });
  return out;
}

function rotate<T>(list: readonly T[], turn: number): T[] {
  if (list.length < 2) return [...list];
  const k = turn % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** in-addr.arpa / ip6.arpa name of an address (lower case, no trailing dot). */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  return `${expandIPv6(ip).split('').reverse().join('.')}.ip6.arpa`;
}

/** 32 hex digits of an IPv6 address. */
function expandIPv6(ip: string): string {
  const [head = '', tail] = ip.toLowerCase().split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}
