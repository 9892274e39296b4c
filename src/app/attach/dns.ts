/**
 * What a container brings to the embedded resolver: one endpoint per
 * DNS-enabled network it joined (user-defined bridge networks without
 * --disable-dns), named by its container name, hostname and short ID.
 */
import { shortId } from '../../domain/container-ref.ts';
import type { DnsJoin } from '../../domain/dns/records.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';
import type { AnyConflist } from '../../domain/network/conflist-schema.ts';
import {
  isDnsEnabled,
  isInternal,
  networkFromConflist,
  networkGateways,
  networkSubnets,
  type Network,
} from '../../domain/network/network.ts';
import type { HookContainer } from '../../domain/oci/state.ts';
import { dnsInputSpecOf } from '../../domain/netfilter/dns-input.ts';
import type { CniResult } from '../../interfaces/cni.ts';
import type { ResolvedNetwork } from '../../interfaces/network-resolver.ts';
import { bridgeLinks } from './attachment.ts';

/** The network behind a resolved conflist, for the rules that read names, labels and IPAM. */
export function networkOf(resolved: ResolvedNetwork): Network {
  return networkFromConflist(resolved.list.file ?? '', resolved.list.raw as AnyConflist);
}

/**
 * An internal bridge network has no gateway address on its bridge (no
 * isGateway: no way out); with DNS it needs one for the resolver to listen on.
 * `{link, cidr}` per such network among `networks`.
 */
export function resolverAddressesFor(networks: readonly ResolvedNetwork[]): { link: string; cidr: string }[] {
  const out: { link: string; cidr: string }[] = [];
  for (const resolved of networks) {
    const network = networkOf(resolved);
    if (!isDnsEnabled(network) || !isInternal(network)) continue;
    const [link] = bridgeLinks(resolved.list);
    for (const s of networkSubnets(network)) {
      if (link !== undefined && s.gateway !== undefined) out.push({ link, cidr: `${s.gateway}/${s.subnet.split('/')[1]}` });
    }
  }
  return out;
}

/** Whether any of these networks has the embedded resolver. */
export function anyDnsNetwork(networks: readonly ResolvedNetwork[]): boolean {
  return networks.some((n) => isDnsEnabled(networkOf(n)));
}

/** `networks[i]` was joined as `refs[i]`, with result `results[refs[i]]`. */
export function dnsJoinFor(
  c: HookContainer,
  refs: readonly string[],
  networks: readonly ResolvedNetwork[],
  results: Record<string, CniResult>,
  /** Per network (same order as `refs`), the container's network-scoped aliases. */
  aliases: readonly (readonly string[])[] = [],
): DnsJoin {
  const labels = decodeContainerLabels(c.annotations);
  const names = [labels.name ?? '', labels.hostname ?? '', shortId(c.id)];
  const endpoints: DnsJoin['endpoints'] = [];
  for (const [index, resolved] of networks.entries()) {
    const network = networkOf(resolved);
    const result = results[refs[index]!];
    if (!isDnsEnabled(network) || !result) continue;
    const gateways = networkGateways(network);
    if (gateways.length === 0) continue;
    const rules = dnsInputSpecOf(network);
    endpoints.push({
      ...(rules ? { rules } : {}),
      network: network.name,
      record: { gateways, internal: isInternal(network) },
      names,
      aliases: [...(aliases[index] ?? [])],
      ips: result.ips.map((ip) => ip.address.split('/')[0]!),
    });
  }
  return { namespace: c.namespace, id: c.id, endpoints };
}
