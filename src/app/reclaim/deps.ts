import type { Network } from '../../domain/network/network.ts';
import type { CniRuntime } from '../../interfaces/cni.ts';
import type { CniHostState } from '../../interfaces/cni-host-state.ts';
import type { ContainerInventory } from '../../interfaces/container-inventory.ts';
import type { DataStoreScan } from '../../interfaces/data-store-scan.ts';
import type { HostsStore } from '../../interfaces/hosts-store.ts';
import type { DnsRegistry } from '../../interfaces/dns-registry.ts';
import type { PortReserver } from '../../interfaces/port-reserver.ts';
import type { BridgeRegistry } from '../../interfaces/bridge-registry.ts';
import type { ChainOwner } from '../../domain/netfilter/hash-chains.ts';

/** What `network gc` needs; composed in src/wiring/reclaim.ts. */
export interface ReclaimDeps {
  inventory: ContainerInventory;
  /** The networks tsnerd knows (conf dir, top level and per namespace), by name. */
  networks(namespaces: readonly string[]): Promise<Network[]>;
  cni: CniRuntime;
  hostCni: CniHostState;
  reserver: PortReserver;
  hosts: HostsStore;
  /** The embedded resolver's records (dead containers' records go, the resolver is started if records are left). */
  dns: DnsRegistry;
  store: DataStoreScan;
  /** Bridges of networks tsnerd created: an idle one whose conflist was deleted by hand goes. */
  bridges: BridgeRegistry;
  /** The data store's root (`<dataRoot>/<hash>`): reservers under it are ours. */
  storeRoot: string;
  /** Removes a bridge plugin's masquerade chain after a DEL without netns. */
  removeIpMasqChain(network: string, cniContainerId: string, ips: readonly string[]): Promise<void>;
  /** Removes the per-container hash chains a DEL that failed left (AttachDeps.removeHashChains). */
  removeHashChains(owners: readonly ChainOwner[]): Promise<unknown>;
  withCniLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Removes (or, dry, lists) the files of hook servers that do not run: their socket, pid, start marker, lock and log. */
  removeStaleHookServerFiles(dryRun: boolean): Promise<string[]>;
  /** The same for the data root's CLI servers. */
  removeStaleCliServerFiles(dryRun: boolean): Promise<string[]>;
  /** Whether `pid` is still the live process that started at `start` (/proc's clock ticks). */
  processAlive(pid: number, start: string): Promise<boolean>;
  /** SIGKILLs `pid` if it is still the process that started at `start`, and waits until it has exited. */
  killProcess(pid: number, start: string): Promise<boolean>;
  /** The containerd shims of task `id` in `namespace` (of this containerd). */
  shimPids(namespace: string, id: string): Promise<number[]>;
  /** SIGKILLs a shim (one shimPids named). */
  killShim(pid: number): Promise<void>;
  /** The interfaces (`ethN`) a container's `endpoints.json` names; undefined without one. */
  recordedInterfaces(stateDir: string): Promise<string[] | undefined>;
  /** The IDs of the `run -d --rm` containers whose reaper (`internal auto-remove <id>`) still runs. */
  reapers(): Promise<Set<string>>;
  /** Removes a stopped container, as `rm` does (refused if it runs again by then). */
  removeContainer(namespace: string, id: string): Promise<void>;
  /** This host's overlay networks (absent: none looked at). */
  overlay?: OverlayUpkeep;
  now(): Date;
  /**
   * How long a container of another tool (nerdctl's: no start deadline of
   * tsnerd's) without a task is taken to be starting after its state dir changed.
   * tsnerd's own creations and starts are judged by their creation claim and
   * start deadline instead.
   */
  graceMs: number;
}

/** What `network gc` does for overlay networks (docs/overlay.md): agents started again, stray files of other hosts' names. */
export interface OverlayUpkeep {
  /** The overlay networks this host has state for, and whether their agent runs under its supervisor. */
  networks(): Promise<{ namespace: string; name: string; running: boolean }[]>;
  /** Starts a network's agent and its supervisor, or a supervisor for a running agent (as the OCI hook does before a container joins). */
  startAgent(namespace: string, name: string): Promise<void>;
  /** The files of other hosts' names in the dns dir (each the network it is for). */
  remoteFiles(): Promise<{ namespace: string; name: string; file: string }[]>;
  removeRemoteFile(file: string): Promise<void>;
}
