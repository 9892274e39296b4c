import type { Peer } from '../domain/overlay/flannel.ts';
import type { OverlayRef } from '../domain/overlay/overlay-network.ts';

/** One key of etcd with its value. */
export interface KeyValue {
  key: string;
  value: string;
}

/** flannel's keys in etcd under one prefix: the network config and the subnet leases. */
export interface FlannelStore {
  readConfig(): Promise<string | undefined>;
  /** Writes the config unless one exists; false if one does. */
  createConfig(value: string): Promise<boolean>;
  /** Deletes the config; with `ifValue`, only while it is still that value (atomically). */
  deleteConfig(opts?: { ifValue?: string }): Promise<void>;
  listLeases(): Promise<KeyValue[]>;
  /**
   * Writes `value` at `key` bound to a new etcd lease of `ttlSeconds`, if `allow`
   * accepts the key's current value (undefined: absent); atomically against a
   * concurrent writer. Returns the lease's handle, or undefined when refused.
   */
  putLease(key: string, value: string, ttlSeconds: number, allow: (current: string | undefined) => boolean): Promise<EtcdLease | undefined>;
  /** Deletes `key` if `allow` accepts its current value. */
  deleteLease(key: string, allow: (current: string) => boolean): Promise<boolean>;
  /** Revokes an etcd lease by its ID (keys bound to it go). A lease already gone is not an error. */
  revoke(leaseId: string): Promise<void>;
  /** Calls `onChange` on every put/delete under the subnets prefix and after every (re)connection of the watch. */
  watchLeases(onChange: (why: string) => void): Promise<{ cancel(): Promise<void> }>;
  /** tsnerd's own keys under the same prefix, on the same connection (domain/overlay/names.ts). */
  readonly names: OverlayNameStore;
  close(): void;
}

/** Keys of tsnerd's own under an overlay's prefix: the hosts' DNS records (not flannel's keys). */
export interface OverlayNameStore {
  /** A new etcd lease (renewed by its keepAlive; store.revoke ends it). */
  grant(ttlSeconds: number): Promise<EtcdLease>;
  list(prefix: string): Promise<KeyValue[]>;
  /** Writes `key` bound to the lease; false if etcd no longer knows the lease. */
  put(key: string, value: string, leaseId: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<void>;
  /** Calls `onChange` on every put/delete under `prefix` and after every (re)connection of the watch ("watch connected"). */
  watch(prefix: string, onChange: (why: string) => void): Promise<{ cancel(): Promise<void> }>;
}

export interface EtcdLease {
  id: string;
  /** Renews the lease once; false if etcd no longer knows it. Throws when etcd cannot be reached. */
  keepAlive(): Promise<boolean>;
}

export interface ConnectOptions {
  /** Keep trying an unreachable etcd this long before failing (0: one attempt). */
  waitMs: number;
}

/** The VXLAN device of an overlay on this host. */
export interface VxlanDevice {
  name: string;
  vni: number;
  port: number;
  /** Underlay address and interface. */
  localIp: string;
  iface: string;
  mac: string;
  mtu: number;
  /** The VTEP address (this host's subnet's network address, as /32). */
  address: string;
}

/** The underlay path of this host: the address peers reach it at, its interface and MTU. */
export interface Underlay {
  ip: string;
  iface: string;
  mtu: number;
}

/** The kernel side of an overlay on this host. */
export interface OverlayHost {
  /** The underlay towards the etcd endpoints (or of `explicitIp`). */
  underlay(etcdEndpoints: readonly string[], explicitIp: string | undefined): Promise<Underlay>;
  /** Creates the device, or keeps it if it already has these settings (paths stay up). */
  ensureDevice(d: VxlanDevice): Promise<void>;
  /** Makes routes, neighbours and FDB entries of the device exactly those of `peers`. */
  syncPeers(device: string, peers: readonly Peer[]): Promise<void>;
  /** Masquerades what leaves the overlay from `subnet`, nothing inside `network`; accepts forwarding inside it. */
  ensureMasquerade(vni: number, network: string, subnet: string): Promise<void>;
  /** Whether every rule ensureMasquerade makes is there (a firewall flush takes them). */
  masqueradeIntact(vni: number, network: string, subnet: string): Promise<boolean>;
  /** Removes the device (its routes, neighbours and FDB go with it) and the rules; absent parts are fine. */
  teardown(device: string, vni: number): Promise<void>;
  deviceExists(device: string): Promise<boolean>;
}

/** What this host keeps about one overlay network (tsnerd's own document, in lowdb). */
export interface OverlayHostState {
  namespace: string;
  name: string;
  etcdEndpoints: string[];
  etcdPrefix: string;
  /** flannel's Network, e.g. 10.5.0.0/16. */
  network: string;
  /** This host's leased subnet, e.g. 10.5.3.0/24. */
  subnet: string;
  vni: number;
  port: number;
  publicIp: string;
  iface: string;
  vtepMac: string;
  mtu: number;
  device: string;
  /** The etcd lease the subnet key is bound to, when known. */
  leaseId: string | undefined;
  /** The etcd lease this host's DNS records on the network are bound to (the agent's), when known. */
  namesLeaseId?: string | undefined;
}

export interface OverlayStateStore {
  /** The directory of one network's state, agent pid, lock and log. */
  dir(namespace: string, name: string): string;
  read(namespace: string, name: string): Promise<OverlayHostState | undefined>;
  write(state: OverlayHostState): Promise<void>;
  remove(namespace: string, name: string): Promise<void>;
  /** Every overlay network this host has state for. */
  list(): Promise<OverlayHostState[]>;
}

/** The per-host agent processes (src/overlay-agent/main.ts), one per overlay network. */
export interface OverlayAgents {
  /**
   * Starts the agent of the state dir under its supervisor (which starts it again when it
   * dies) unless both run; resolves once it has set the device up. A running agent whose
   * supervisor is gone gets a new one, which watches it.
   */
  ensure(stateDir: string): Promise<void>;
  /** Stops the supervisor, then the agent: nothing of the network's runs after it. */
  stop(stateDir: string): Promise<void>;
  pid(stateDir: string): Promise<number | undefined>;
  supervisorPid(stateDir: string): Promise<number | undefined>;
  /** Whether the agent runs, supervised (where perl is there to supervise it). */
  running(stateDir: string): Promise<boolean>;
}

/** Everything the overlay use cases need. */
export interface OverlayDeps {
  connect(ref: OverlayRef, opts: ConnectOptions): Promise<FlannelStore>;
  host: OverlayHost;
  states: OverlayStateStore;
  agents: OverlayAgents;
  /** The other hosts' names the agent keeps for the resolver (a file in the data store's dns dir). */
  remoteNames: { remove(namespace: string, name: string): Promise<void> };
  randomBytes(n: number): Uint8Array;
}
