/**
 * The firewall plugin's rules in CNI-FORWARD that no holder of their address keeps
 * (domain/netfilter/firewall-stale.ts): what `network gc` and the reconciler after a reboot or
 * containerd restart remove, each with its own verdict on who holds an address.
 */
import { AddressSet, staleFirewallRules, type StaleFirewallRules } from '../../domain/netfilter/firewall-stale.ts';
import { networkSubnets, type Network } from '../../domain/network/network.ts';
import type { CniRuntime } from '../../interfaces/cni.ts';
import type { CniHostState } from '../../interfaces/cni-host-state.ts';

export interface StaleFirewallListing {
  tool: 'iptables' | 'ip6tables';
  stale: StaleFirewallRules[];
}

/**
 * Per address family, the rules of addresses inside `networks`' subnets that are stale: every
 * copy of an address nothing holds, the copies past the first of one that is held. An address is
 * held by a CNI cache entry (any network's, any tool's) or a host-local lease (in host-local's
 * default dir and in `dataDirs`) whose owner `holds` accepts. One listing per family; the cache
 * and the leases are read only when a rule of those subnets could be stale.
 */
export async function staleFirewallListings(
  deps: { hostCni: Pick<CniHostState, 'firewallRules' | 'allAllocations'>; cni: Pick<CniRuntime, 'getCachedAttachments'> },
  networks: readonly Network[],
  dataDirs: readonly (string | undefined)[],
  holds: (owner: string) => boolean | Promise<boolean>,
): Promise<StaleFirewallListing[]> {
  const subnets = networks.flatMap((n) => networkSubnets(n).map((s) => s.subnet));
  if (subnets.length === 0) return [];
  const listings = await deps.hostCni.firewallRules();
  if (listings.every((l) => staleFirewallRules(l.listing, subnets, new AddressSet()).length === 0)) return [];
  const held = new AddressSet();
  for (const a of await deps.cni.getCachedAttachments()) {
    if (await holds(a.containerId)) for (const ip of a.result?.ips ?? []) held.add(ip.address);
  }
  for (const dir of new Set([undefined, ...dataDirs])) {
    for (const lease of await deps.hostCni.allAllocations(dir)) if (await holds(lease.owner)) held.add(lease.ip);
  }
  return listings.map(({ tool, listing }) => ({ tool, stale: staleFirewallRules(listing, subnets, held) }));
}
