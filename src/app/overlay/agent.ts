/**
 * The per-host overlay agent's work (run by src/overlay-agent/main.ts): set
 * the VXLAN device and masquerading up from local state (no etcd needed, so
 * established paths survive an outage and a restart), keep this host's subnet
 * lease in etcd, and make the device's peers those of the leases in etcd on
 * every change the watch reports. The kernel is compared with etcd on every
 * sync, so a restart after kill -9 converges without memory of its own.
 */
import { LEASE_TTL_SECONDS, leaseAttrs, leaseKey, parseIpv4Net, peersOf, vtepAddress, type Ipv4Net } from '../../domain/overlay/flannel.ts';
import type { EtcdLease, FlannelStore, OverlayHost, OverlayHostState } from '../../interfaces/overlay.ts';
import { ownedOrFree, readLeases } from './lease.ts';

export interface AgentDeps {
  store: FlannelStore;
  host: OverlayHost;
  saveState(state: OverlayHostState): Promise<void>;
  log(line: string): void;
}

/** flannel renews its 24 h leases an hour before they end; an hourly keepalive is well inside that. */
const RENEW_MS = (LEASE_TTL_SECONDS * 1000) / 24;
const RETRY_MS = [250, 500, 1000, 2000];
/** As flanneld's iptables resync (`--iptables-resync`, 5 s): rules a firewall flush took are put back. */
const RULES_RESYNC_MS = 5000;

export class OverlayAgentLoop {
  private readonly deps: AgentDeps;
  private state: OverlayHostState;
  private readonly subnet: Ipv4Net;
  private lease: EtcdLease | undefined;
  private watch: { cancel(): Promise<void> } | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private rulesTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  private stopped = false;
  private renewDue = false;

  constructor(deps: AgentDeps, state: OverlayHostState) {
    this.deps = deps;
    this.state = state;
    const subnet = parseIpv4Net(state.subnet);
    if (!subnet) throw new Error(`bad subnet in state: ${state.subnet}`);
    this.subnet = { base: subnet.base, prefix: subnet.prefix };
  }

  /** The local part: the device and the rules, from state alone. */
  async setUpDevice(): Promise<void> {
    const s = this.state;
    await this.deps.host.ensureDevice({
      name: s.device,
      vni: s.vni,
      port: s.port,
      localIp: s.publicIp,
      iface: s.iface,
      mac: s.vtepMac,
      mtu: s.mtu,
      address: vtepAddress(this.subnet),
    });
    await this.deps.host.ensureMasquerade(s.vni, s.network, s.subnet);
  }

  /** Starts the watch; the first sync (and the lease claim) follows its connection, retried until etcd answers. */
  async start(): Promise<void> {
    this.watch = await this.deps.store.watchLeases((why) => {
      this.deps.log(why);
      if (!why.startsWith('watch disconnected') && !why.startsWith('watch error')) this.schedule();
    });
    this.schedule();
    this.renewTimer = setInterval(() => this.schedule(true), RENEW_MS);
    this.rulesTimer = setInterval(() => void this.resyncRules(), RULES_RESYNC_MS);
  }

  /** The masquerade and forward rules, made again when any is missing (one check per rule, no change when all are there). */
  private async resyncRules(): Promise<void> {
    const s = this.state;
    try {
      if (await this.deps.host.masqueradeIntact(s.vni, s.network, s.subnet)) return;
      this.deps.log('rules missing (a firewall flush?): putting them back');
      await this.deps.host.ensureMasquerade(s.vni, s.network, s.subnet);
    } catch (err) {
      this.deps.log(`rules resync failed: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.rulesTimer) clearInterval(this.rulesTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.watch?.cancel().catch(() => undefined);
    await this.running.catch(() => undefined);
  }

  /** Coalesces requests: one sync runs at a time and one more follows if anything arrived meanwhile. */
  private schedule(renew = false): void {
    if (this.stopped) return;
    if (renew) this.renewDue = true;
    if (this.pending) return;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      if (this.stopped) return;
      try {
        await this.syncOnce();
        this.failures = 0;
      } catch (err) {
        const delay = RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)]!;
        this.deps.log(`sync failed (retry in ${delay} ms): ${(err as Error).message}`);
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.schedule(), delay);
      }
    });
  }

  private async syncOnce(): Promise<void> {
    const s = this.state;
    const key = leaseKey(s.etcdPrefix, this.subnet);
    if (this.lease && this.renewDue) {
      this.renewDue = false;
      if (!(await this.lease.keepAlive())) {
        this.deps.log('lease lost: claiming the subnet again');
        this.lease = undefined;
      }
    }
    const leases = await readLeases(this.deps.store, s.etcdPrefix);
    const mine = leases.find((l) => l.subnet.base === this.subnet.base && l.subnet.prefix === this.subnet.prefix);
    if (!this.lease || !mine || mine.attrs.PublicIP !== s.publicIp || mine.attrs.BackendData?.VtepMAC !== s.vtepMac) {
      await this.claim(key);
    }
    const peers = peersOf(leases, this.subnet);
    await this.deps.host.syncPeers(s.device, peers);
    this.deps.log(`synced: ${peers.length} peer(s) ${peers.map((p) => `${p.publicIp}`).join(' ')}`);
  }

  private async claim(key: string): Promise<void> {
    const s = this.state;
    const value = JSON.stringify(leaseAttrs(s.publicIp, s.vni, s.vtepMac));
    const lease = await this.deps.store.putLease(key, value, LEASE_TTL_SECONDS, ownedOrFree(s.publicIp));
    if (!lease) throw new Error(`subnet ${s.subnet} is leased to another host in etcd (${key})`);
    const old = s.leaseId;
    this.lease = lease;
    this.state = { ...s, leaseId: lease.id };
    await this.deps.saveState(this.state);
    if (old !== undefined && old !== lease.id) await this.deps.store.revoke(old).catch(() => undefined);
    this.deps.log(`leased ${s.subnet} (etcd lease ${lease.id})`);
  }
}
