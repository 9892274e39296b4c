/**
 * The DNS record set: what the embedded resolver serves, one document per data
 * store (`<root>/dns/records.json`, kept in lowdb by the OCI hook). Networks
 * are listed while at least one endpoint uses them; an endpoint is one
 * container on one network, keyed `<namespace>/<id>/<network>`.
 */
import * as z from '../zod.ts';

export const DnsNetworkRecord = z.object({
  /** Addresses the resolver listens on (the bridge's gateway addresses). */
  gateways: z.array(z.string()),
  /** `--internal`: names of the network only, nothing is forwarded. */
  internal: z.boolean(),
});
export type DnsNetworkRecord = z.infer<typeof DnsNetworkRecord>;

export const DnsEndpointRecord = z.object({
  network: z.string(),
  namespace: z.string(),
  id: z.string(),
  /** Container name, hostname, short ID and aliases, as given (matched case-insensitively). */
  names: z.array(z.string()),
  /** Aliases on this network: several containers may share one (answered round-robin). */
  aliases: z.array(z.string()),
  ips: z.array(z.string()),
});
export type DnsEndpointRecord = z.infer<typeof DnsEndpointRecord>;

export const DnsRecordSet = z.object({
  networks: z.record(z.string(), DnsNetworkRecord),
  endpoints: z.record(z.string(), DnsEndpointRecord),
});
export type DnsRecordSet = z.infer<typeof DnsRecordSet>;

export function emptyRecordSet(): DnsRecordSet {
  return { networks: {}, endpoints: {} };
}

export function endpointKey(namespace: string, id: string, network: string): string {
  return `${namespace}/${id}/${network}`;
}

/** What a container brings to the record set when it starts. */
export interface DnsJoin {
  namespace: string;
  id: string;
  endpoints: { network: string; record: DnsNetworkRecord; names: string[]; aliases: string[]; ips: string[] }[];
}

/** Replaces the container's endpoints with `join`'s (a restart re-joins with new IPs). */
export function applyJoin(set: DnsRecordSet, join: DnsJoin): DnsRecordSet {
  const next = applyLeave(set, join.namespace, join.id);
  for (const e of join.endpoints) {
    next.networks[e.network] = e.record;
    next.endpoints[endpointKey(join.namespace, join.id, e.network)] = {
      network: e.network,
      namespace: join.namespace,
      id: join.id,
      names: unique(e.names),
      aliases: unique(e.aliases),
      ips: e.ips,
    };
  }
  return next;
}

/** Drops the container's endpoints, and the networks no endpoint uses any more. */
export function applyLeave(set: DnsRecordSet, namespace: string, id: string): DnsRecordSet {
  const prefix = `${namespace}/${id}/`;
  const endpoints = Object.fromEntries(Object.entries(set.endpoints).filter(([key]) => !key.startsWith(prefix)));
  const used = new Set(Object.values(endpoints).map((e) => e.network));
  const networks = Object.fromEntries(Object.entries(set.networks).filter(([name]) => used.has(name)));
  return { networks, endpoints };
}

export function hasEndpoints(set: DnsRecordSet): boolean {
  return Object.keys(set.endpoints).length > 0;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names.filter((n) => n !== ''))];
}
