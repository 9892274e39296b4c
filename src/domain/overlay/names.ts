/**
 * tsnerd's DNS names of an overlay network in etcd (docs/overlay.md, "Names across hosts"):
 * each host publishes its own containers' names, aliases and addresses on the network under
 * `<prefix>/tsnerd/names/<host subnet>/<namespace>/<id>`, bound to an etcd lease of
 * NAMES_TTL_SECONDS that its agent keeps alive, and keeps the other hosts' records in a local
 * file the resolver serves (domain/dns/records.ts, RemoteRecordSet). The key space is apart
 * from flannel's (`<prefix>/config`, `<prefix>/subnets/`), which flanneld reads and watches
 * alone; no key of it starts with `subnets`.
 */
import { networkKey, parseRemoteEndpoint, type DnsRecordSet, type RemoteEndpointRecord, type RemoteRecordSet } from '../dns/records.ts';
import { formatIpv4, type Ipv4Net } from './flannel.ts';

/**
 * A host that dies (or whose agent is killed and not started again) takes its names with it
 * after this long; its agent renews the lease every third of it.
 */
export const NAMES_TTL_SECONDS = 10;

/** Everything of tsnerd's under an overlay's prefix (deleted with the config by the last host's `network rm --force`). */
export function tsnerdPrefix(prefix: string): string {
  return `${prefix}/tsnerd/`;
}

export function namesPrefix(prefix: string): string {
  return `${tsnerdPrefix(prefix)}names/`;
}

/** One host's records: named by its subnet, which is its own in the overlay (its lease key's name). */
export function hostNamesPrefix(prefix: string, subnet: Ipv4Net): string {
  return `${namesPrefix(prefix)}${formatIpv4(subnet.base)}-${subnet.prefix}/`;
}

/** The value of a record: fields in a fixed order, so that equal records are equal strings. */
export function nameRecordValue(r: RemoteEndpointRecord): string {
  return JSON.stringify({ names: r.names, aliases: r.aliases, ips: r.ips });
}

/**
 * What this host publishes for one overlay network: key -> value of each of its containers
 * with DNS records on it (the local record set, kept by the OCI hook).
 */
export function publishedNames(set: DnsRecordSet, namespace: string, network: string, hostPrefix: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of Object.values(set.endpoints)) {
    if (e.namespace !== namespace || e.network !== network || e.ips.length === 0) continue;
    out.set(`${hostPrefix}${e.namespace}/${e.id}`, nameRecordValue(e));
  }
  return out;
}

/**
 * The other hosts' records under the names prefix, as the local network `namespace/network`'s
 * remote record set. This host's own keys (`ownPrefix`) and values that do not parse are left out.
 */
export function remoteRecordsOf(
  kvs: readonly { key: string; value: string }[],
  prefix: string,
  ownPrefix: string,
  namespace: string,
  network: string,
): { set: RemoteRecordSet; bad: string[] } {
  const base = namesPrefix(prefix);
  const endpoints: Record<string, RemoteEndpointRecord> = {};
  const bad: string[] = [];
  for (const { key, value } of kvs) {
    if (!key.startsWith(base) || key.startsWith(ownPrefix)) continue;
    try {
      endpoints[key.slice(base.length)] = parseRemoteEndpoint(JSON.parse(value), key);
    } catch {
      bad.push(key);
    }
  }
  return { set: { network: networkKey(namespace, network), endpoints }, bad };
}
