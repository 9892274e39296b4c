import type { CniRuntime } from '../../interfaces/cni.ts';
import type { ContainerStateFiles } from '../../interfaces/container-state.ts';
import type { HostsStore } from '../../interfaces/hosts-store.ts';
import type { NetworkResolver } from '../../interfaces/network-resolver.ts';
import type { PortReserver } from '../../interfaces/port-reserver.ts';
import type { DnsRegistry } from '../../interfaces/dns-registry.ts';
import type { SharedAddGate } from '../../interfaces/shared-add-gate.ts';
import type { ChainOwner } from '../../domain/netfilter/hash-chains.ts';

/** What attaching and detaching containers to CNI networks needs; composed in src/wiring/attach.ts. */
export interface AttachDeps {
  cni: CniRuntime;
  resolver: NetworkResolver;
  hosts: HostsStore;
  state: ContainerStateFiles;
  reserver: PortReserver;
  /** The embedded resolver's records of containers on DNS-enabled networks. */
  dns: DnsRegistry;
  /**
   * Removes a bridge plugin's masquerade chain (tsnerd's to remove: the plugins run
   * without ipMasq, domain/netfilter/ipmasq.ts); with no `ips`, the sources its POSTROUTING rules name.
   */
  removeIpMasqChain(network: string, cniContainerId: string, ips: readonly string[]): Promise<void>;
  /**
   * Deletes the per-container hash chains (CNI-, CNI-DN-, CNI-SN-<hash>) of these (network, CNI
   * container ID) pairs that are only theirs, with their own rules that jump to them: what a DEL
   * that failed leaves (domain/netfilter/hash-chains.ts). Recovery paths only: it lists the nat table.
   */
  removeHashChains(owners: readonly ChainOwner[]): Promise<unknown>;
  /** Makes a bridge plugin's masquerade chain and jumps for a new attachment's `addresses` (CIDRs), in place of the plugin's ADD. */
  addIpMasqChain(network: string, cniContainerId: string, addresses: readonly string[]): Promise<void>;
  /** Makes a bridge plugin's masquerade chain and jumps what its ADD made for `addresses` (CIDRs); idempotent (`network reload`). */
  ensureIpMasqChain(network: string, cniContainerId: string, addresses: readonly string[]): Promise<void>;
  /**
   * Deletes a bridge left with no ports and an all-zero MAC. The kernel gives
   * a bridge that address when its last port goes before the bridge plugin
   * ever set one (a first ADD that failed in IPAM), and the next ADD then
   * fails with "could not set bridge's mac"; the plugin recreates the bridge.
   */
  removeDeadBridge(link: string): Promise<void>;
  /** Test-only fault injection at a named step (see ContainerHost.faultPoint). */
  faultPoint(step: string): void;
  /**
   * Adds `cidr` (gateway/prefix) to a bridge that lacks it: internal networks
   * have none, and the embedded resolver listens on the gateway. Idempotent.
   */
  addBridgeAddress(link: string, cidr: string): Promise<void>;
  /**
   * Host-wide serialisation of CNI work (plugins are not safe to run concurrently).
   * `shared`: beside other shared holders (createRuntime's ADDs that `sharedAdd` allows), never beside an exclusive one.
   */
  withCniLock<T>(fn: () => Promise<T>, opts?: { shared?: boolean }): Promise<T>;
  /** Whether an ADD may take the CNI lock shared; without it every ADD is exclusive. */
  sharedAdd?: SharedAddGate;
  /** Starts the overlay agent of a network on this host unless it runs. */
  ensureOverlayAgent?(namespace: string, network: string): Promise<void>;
  log(line: string): void;
}
