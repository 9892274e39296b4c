/**
 * The overlay agent's DNS side (docs/dns.md, "Names across hosts"): it publishes this host's
 * containers on the network (from the record set the OCI hook keeps) to etcd, bound to a
 * short lease it keeps alive, and keeps the other hosts' records in the local file the
 * resolver serves. The hook does nothing more for it: a change of the local record set wakes
 * the agent (inotify), which reconciles etcd with it.
 *
 * Exact state whatever fails: keys are named by host and container (a republish overwrites,
 * never duplicates); a full reconcile (this host's keys listed, the strays deleted, every
 * record put on the current lease) runs at start, after every reconnection of the watch and
 * after any failure, so a restart after kill -9 converges and then revokes the lease of the
 * agent before it. An etcd outage leaves the local file as it was (the last known names); a
 * lease etcd no longer knows (this host cut off longer than the TTL) is granted anew and
 * everything put again.
 */
import type { DnsRecordSet, RemoteRecordSet } from '../../domain/dns/records.ts';
import type { Ipv4Net } from '../../domain/overlay/flannel.ts';
import { NAMES_TTL_SECONDS, hostNamesPrefix, namesPrefix, publishedNames, remoteRecordsOf } from '../../domain/overlay/names.ts';
import type { EtcdLease, OverlayNameStore } from '../../interfaces/overlay.ts';

export interface NamesDeps {
  store: OverlayNameStore;
  revoke(leaseId: string): Promise<void>;
  /** This host's record set (the hook's records.json); empty when there is none. */
  readLocal(): Promise<DnsRecordSet>;
  /** Replaces the file of the other hosts' names the resolver reads. */
  writeRemote(set: RemoteRecordSet): Promise<void>;
  /** Remembers the lease in the network's state, for the next agent and `network rm` to revoke. */
  saveLeaseId(id: string): Promise<void>;
  log(line: string): void;
}

export interface NamesTarget {
  namespace: string;
  /** The network's name on this host. */
  name: string;
  etcdPrefix: string;
  /** This host's subnet: its records' key space. */
  subnet: Ipv4Net;
  /** The lease of the agent before this one (killed), revoked once everything is on the new one. */
  previousLeaseId: string | undefined;
  ttlSeconds?: number;
}

const RETRY_MS = [250, 500, 1000, 2000];
/**
 * A local change is published this long after it: reacting at once (a read of records.json, a put
 * and etcd's fsync) while the container was still starting cost `run -d` +16 to +52 ms (median of
 * 40, three runs); 300 ms later, with the changes of that time in one pass, nothing measurable.
 */
const LOCAL_DELAY_MS = 300;

export class OverlayNamesLoop {
  private readonly deps: NamesDeps;
  private readonly target: NamesTarget;
  private readonly ownPrefix: string;
  private readonly ttl: number;
  private lease: EtcdLease | undefined;
  private previousLeaseId: string | undefined;
  /** This host's records as etcd has them on `lease` (after a full reconcile). */
  private published = new Map<string, string>();
  private full = true;
  private publishDue = false;
  private refreshDue = false;
  private lastRemote: string | undefined;
  private watch: { cancel(): Promise<void> } | undefined;
  private keepTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private localTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  private stopped = false;
  private failures = 0;
  private renewFailing = false;

  constructor(deps: NamesDeps, target: NamesTarget) {
    this.deps = deps;
    this.target = target;
    this.ownPrefix = hostNamesPrefix(target.etcdPrefix, target.subnet);
    this.ttl = target.ttlSeconds ?? NAMES_TTL_SECONDS;
    this.previousLeaseId = target.previousLeaseId;
  }

  async start(): Promise<void> {
    this.watch = await this.deps.store.watch(namesPrefix(this.target.etcdPrefix), (why) => this.onWatch(why));
    this.schedule({ publish: true, refresh: true });
    this.keepTimer = setInterval(() => void this.renew(), (this.ttl * 1000) / 3);
  }

  /** The local record set changed (or may have): published after LOCAL_DELAY_MS, with what else changed meanwhile. */
  localChanged(): void {
    if (this.localTimer || this.stopped) return;
    this.localTimer = setTimeout(() => {
      this.localTimer = undefined;
      this.schedule({ publish: true });
    }, LOCAL_DELAY_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.keepTimer) clearInterval(this.keepTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.localTimer) clearTimeout(this.localTimer);
    await this.watch?.cancel().catch(() => undefined);
    await this.running.catch(() => undefined);
  }

  private onWatch(why: string): void {
    if (why === 'watch connected') {
      // After an outage: etcd may have lost or expired what it had of this host.
      this.full = true;
      this.schedule({ publish: true, refresh: true });
      return;
    }
    const m = /^(put|delete) (.*)$/.exec(why);
    if (!m) {
      this.deps.log(`names ${why}`);
      return;
    }
    const [, op, key] = m;
    if (!key!.startsWith(this.ownPrefix)) this.schedule({ refresh: true });
    // One of this host's records went behind its back (its lease expired, a hand's delete): all again.
    else if (op === 'delete' && this.published.has(key!)) {
      this.full = true;
      this.schedule({ publish: true });
    }
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (!lease || this.stopped) return;
    try {
      const alive = await lease.keepAlive();
      if (this.renewFailing) this.deps.log('names lease renewed again');
      this.renewFailing = false;
      if (!alive && this.lease === lease) {
        this.deps.log(`names lease ${lease.id} lost: publishing on a new one`);
        this.lease = undefined;
        this.full = true;
        this.schedule({ publish: true });
      }
    } catch (err) {
      if (!this.renewFailing) this.deps.log(`names lease renewal failed (retrying): ${(err as Error).message}`);
      this.renewFailing = true;
    }
  }

  /** One task at a time; requests that arrive meanwhile are coalesced into the next. */
  private schedule(what: { publish?: boolean; refresh?: boolean }): void {
    if (this.stopped) return;
    if (what.publish) this.publishDue = true;
    if (what.refresh) this.refreshDue = true;
    if (this.pending) return;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      if (this.stopped) return;
      const publish = this.publishDue;
      const refresh = this.refreshDue;
      this.publishDue = false;
      this.refreshDue = false;
      try {
        if (publish) await this.publish();
        if (refresh) await this.refresh();
        this.failures = 0;
      } catch (err) {
        if (publish) {
          this.publishDue = true;
          this.full = true;
        }
        if (refresh) this.refreshDue = true;
        const delay = RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)]!;
        this.deps.log(`names sync failed (retry in ${delay} ms): ${(err as Error).message}`);
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.schedule({}), delay);
      }
    });
  }

  /** etcd's records of this host made those of the local record set. */
  private async publish(): Promise<void> {
    const { store } = this.deps;
    if (!this.lease) {
      this.lease = await store.grant(this.ttl);
      this.full = true;
      await this.deps.saveLeaseId(this.lease.id);
    }
    const lease = this.lease;
    const t = this.target;
    const desired = publishedNames(await this.deps.readLocal(), t.namespace, t.name, this.ownPrefix);
    const full = this.full;
    if (full) {
      this.published = new Map();
      for (const kv of await store.list(this.ownPrefix)) if (!desired.has(kv.key)) await store.delete(kv.key);
    }
    for (const [key, value] of desired) {
      if (this.published.get(key) === value) continue;
      if (!(await store.put(key, value, lease.id))) {
        if (this.lease === lease) this.lease = undefined;
        throw new Error(`names lease ${lease.id} is gone`);
      }
      this.published.set(key, value);
    }
    for (const key of [...this.published.keys()]) {
      if (desired.has(key)) continue;
      this.published.delete(key); // before the delete: its watch event is then not taken for a loss
      await store.delete(key);
    }
    if (!full) return;
    this.full = false;
    this.deps.log(`names published: ${desired.size} record(s) on lease ${lease.id}`);
    const previous = this.previousLeaseId;
    this.previousLeaseId = lease.id;
    if (previous !== undefined && previous !== lease.id) await this.deps.revoke(previous).catch(() => undefined);
  }

  /** The local file of the other hosts' records made that of etcd; a missing own record makes a full publish follow. */
  private async refresh(): Promise<void> {
    const t = this.target;
    const kvs = await this.deps.store.list(namesPrefix(t.etcdPrefix));
    const { set, bad } = remoteRecordsOf(kvs, t.etcdPrefix, this.ownPrefix, t.namespace, t.name);
    for (const key of bad) this.deps.log(`names: ignoring ${key} (not a name record)`);
    const text = JSON.stringify(set);
    if (text !== this.lastRemote) {
      await this.deps.writeRemote(set);
      this.lastRemote = text;
      this.deps.log(`names of other hosts: ${Object.keys(set.endpoints).length} record(s)`);
    }
    const own = new Map(kvs.filter((kv) => kv.key.startsWith(this.ownPrefix)).map((kv) => [kv.key, kv.value]));
    if ([...this.published].some(([key, value]) => own.get(key) !== value)) {
      this.full = true;
      this.schedule({ publish: true });
    }
  }
}
