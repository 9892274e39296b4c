/**
 * What the CNI plugins leave on the host per container, outside the result
 * cache: host-local's IP files and the netfilter rules the plugins tag with
 * `name: "<network>" id: "<CNI container ID>"`.
 */

/** One IP host-local handed out: `<dataDir>/<network>/<ip>`, first line the CNI container ID. */
export interface IpAllocation {
  network: string;
  ip: string;
  owner: string;
  path: string;
}

/** One rule as `iptables -S` prints it, with the network and container its comment names. */
export interface TaggedRule {
  tool: 'iptables' | 'ip6tables';
  table: string;
  rule: string;
  network: string;
  owner: string;
}

/** A container's per-container hash chain (domain/netfilter/hash-chains.ts) in one family's nat table. */
export interface HashChain extends OwnedChain {
  tool: 'iptables' | 'ip6tables';
}

import type { CachedAttachment } from './cni.ts';
import type { ChainOwner, OwnedChain } from '../domain/netfilter/hash-chains.ts';

export interface CniHostState {
  /**
   * Whether a cached attachment's container still runs, whatever tool made it:
   * its netns (from the entry, else the result's sandbox) exists and the entry
   * was written since the host booted. Without any netns to look at: true.
   */
  attachmentAlive(a: CachedAttachment): Promise<boolean>;
  /**
   * Whether a cached attachment's container runs on this host, for hosts that
   * share the CNI cache dir (several hosts simulated on one machine): its netns
   * belongs to a process whose runtime parent (containerd's shim, conmon) is in
   * this process's network namespace. True when that cannot be told (a netns
   * that is not a process's, a process gone).
   */
  attachmentHere(a: CachedAttachment): Promise<boolean>;
  /** host-local's allocations of a network (dataDir: the IPAM's dataDir, if set). */
  allocations(network: string, dataDir?: string): Promise<IpAllocation[]>;
  /** host-local's allocations of every network that has a dir in `dataDir` (default: host-local's), any tool's. */
  allAllocations(dataDir?: string): Promise<IpAllocation[]>;
  /** `iptables -S CNI-FORWARD` of each family (empty without the chain): where the firewall plugin's per-address rules are. */
  firewallRules(): Promise<{ tool: 'iptables' | 'ip6tables'; listing: string }[]>;
  /** Deletes one copy per line (`-A CNI-FORWARD …` as listed) in one iptables-restore: all or nothing. */
  removeFirewallRules(tool: 'iptables' | 'ip6tables', rules: readonly string[]): Promise<void>;
  releaseAllocation(a: IpAllocation): Promise<void>;
  /** Removes host-local's dir of a network that holds no allocation (see NetworkHost.removeHostLocalDir). */
  removeHostLocalDir(network: string, dataDir: string | undefined): Promise<void>;
  /** Every rule in nat, filter and mangle (IPv4 and IPv6) whose comment names a network and a container. */
  taggedRules(): Promise<TaggedRule[]>;
  /** Deletes the rules, then the per-container CNI-* chains they were in or jumped to once nothing else refers to them. */
  removeRules(rules: readonly TaggedRule[]): Promise<void>;
  /**
   * The hash-named chains (bridge ipMasq CNI-, portmap CNI-DN- and CNI-SN-) of these (network,
   * CNI container ID) pairs that exist and are only the pair's (removableHashChains): one
   * `iptables -S` per family. An empty one is what a DEL or ADD killed halfway leaves.
   */
  hashChains(owners: readonly ChainOwner[]): Promise<HashChain[]>;
  /** Deletes them, with the pair's rules that jump to them; returns what it deleted. */
  removeHashChains(owners: readonly ChainOwner[]): Promise<HashChain[]>;
  linkExists(name: string): Promise<boolean>;
  /** True when the link exists, is a bridge and has no ports. */
  isIdleBridge(name: string): Promise<boolean>;
  deleteLink(name: string): Promise<void>;
  /** The bridges the firewall plugin's isolation rules name (CNI-ISOLATION-STAGE-1/2, IPv4 and IPv6). */
  isolatedBridges(): Promise<Set<string>>;
  /**
   * Deletes the rules that belong to a bridge that is gone: the firewall plugin's isolation rules (no
   * DEL removes them) and tsnerd's DNS rules (domain/netfilter/dns-input.ts).
   */
  removeBridgeRules(bridge: string): Promise<void>;
  /** The bridges tsnerd's DNS rules name (INPUT, IPv4 and IPv6). */
  dnsRuleBridges(): Promise<Set<string>>;
}
