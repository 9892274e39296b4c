/**
 * Who owns a piece of CNI state, and whether that owner is alive: the rule
 * `network gc` and `rm` of a task-less container share.
 *
 * An owner is a CNI container ID `<namespace>-<id>`. It is
 * - foreign when no containerd namespace prefixes it (another runtime's, or
 *   another containerd's): never touched;
 * - live when containerd has the container with a task that is not stopped;
 *   or it has none running yet and a start is in flight: for tsnerd's containers,
 *   the `start_deadline` the starting CLI wrote has not passed (a createRuntime
 *   hook may still be running: containerd lists the task only once runc create
 *   returns); for others' (nerdctl's), which record no deadline, their state
 *   dir changed within the grace period after containerd started;
 * - live too when containerd does not have it but its creation is in flight:
 *   the state dir's creation claim names a live process, or containerd has the
 *   container by now (created after gc listed them);
 * - dead otherwise: the container is gone (its claim's process with it), or
 *   has no task or a stopped one (after a reboot or a containerd crash, or a
 *   process that exited).
 */
import { join } from 'node:path';
import { Labels } from '../../domain/labels.ts';
import type { Inventory, InventoryContainer } from '../../interfaces/container-inventory.ts';
import type { ReclaimDeps } from './deps.ts';

export type Verdict = 'live' | 'dead' | 'foreign';

const NERDCTL_STATE_DIR = 'nerdctl/state-dir';
/** Container IDs and names: nothing that could step out of the store's directories. */
const PLAIN_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class Owners {
  private readonly inventory: Inventory;
  private readonly deps: Pick<ReclaimDeps, 'store' | 'now' | 'graceMs' | 'storeRoot' | 'inventory'>;
  private readonly byKey: Map<string, InventoryContainer>;
  /** Longest first, so `a-b` wins over `a` for `a-b-<id>`. */
  private readonly namespaces: string[];
  private readonly cache = new Map<string, Promise<Verdict>>();
  private readonly abandonedCache = new Map<string, Promise<boolean>>();

  constructor(inventory: Inventory, deps: Pick<ReclaimDeps, 'store' | 'now' | 'graceMs' | 'storeRoot' | 'inventory'>) {
    this.inventory = inventory;
    this.deps = deps;
    this.byKey = new Map(inventory.containers.map((c) => [`${c.namespace}-${c.id}`, c]));
    this.namespaces = [...inventory.namespaces].sort((a, b) => b.length - a.length);
  }

  /** The namespace and container ID of a CNI container ID, if a known namespace prefixes it. */
  parse(cniId: string): { namespace: string; id: string } | undefined {
    const namespace = this.namespaces.find((ns) => cniId.startsWith(`${ns}-`) && cniId.length > ns.length + 1);
    return namespace === undefined ? undefined : { namespace, id: cniId.slice(namespace.length + 1) };
  }

  container(namespace: string, id: string): InventoryContainer | undefined {
    return this.byKey.get(`${namespace}-${id}`);
  }

  /** The verdict on a CNI container ID. */
  verdict(cniId: string): Promise<Verdict> {
    let v = this.cache.get(cniId);
    if (!v) {
      const owner = this.parse(cniId);
      v = owner ? this.verdictOf(owner.namespace, owner.id) : Promise.resolve('foreign' as const);
      this.cache.set(cniId, v);
    }
    return v;
  }

  /** The verdict on a container of our data store (its namespace may be gone from containerd). */
  async verdictOf(namespace: string, id: string): Promise<'live' | 'dead'> {
    const c = this.container(namespace, id);
    if (!c) return (await this.abandoned(namespace, id)) ? 'dead' : 'live';
    if (c.task && c.task.status !== 'stopped') return 'live';
    // No task, or a stopped one that a restart is about to replace (listed before it deleted the old task).
    const ours = c.labels[Labels.stateDir];
    if (ours) {
      const deadline = await this.deps.store.startDeadline(ours);
      return deadline !== undefined && deadline > this.deps.now().getTime() ? 'live' : 'dead';
    }
    const nerdctls = c.labels[NERDCTL_STATE_DIR];
    const activity = nerdctls ? await this.deps.store.lastActivity(nerdctls) : undefined;
    return activity && this.recent(activity) ? 'live' : 'dead';
  }

  /**
   * Whether what the data store holds of a container containerd's listing did
   * not show is left over: no creation claim of a live process in its state dir,
   * and containerd still does not have it (asked again, after the claim was read:
   * a `run` drops its claim only once containerd holds the record).
   */
  abandoned(namespace: string, id: string, stateDir?: string): Promise<boolean> {
    const key = `${namespace}/${id}`;
    let v = this.abandonedCache.get(key);
    if (!v) {
      v = this.isAbandoned(namespace, id, stateDir);
      this.abandonedCache.set(key, v);
    }
    return v;
  }

  private async isAbandoned(namespace: string, id: string, stateDir: string | undefined): Promise<boolean> {
    if (this.container(namespace, id)) return false;
    // Not an ID (a damaged names file, a state dir being staged): no container can have it.
    const plain = PLAIN_ID.test(namespace) && PLAIN_ID.test(id);
    const dir = stateDir ?? (plain ? join(this.deps.storeRoot, 'containers', namespace, id) : undefined);
    if (dir !== undefined && (await this.deps.store.creationClaim(dir))?.ownerAlive) return false;
    return !plain || !(await this.deps.inventory.exists(namespace, id));
  }

  /** Within the grace period, and since containerd started (others' containers, which record no start deadline). */
  recent(at: Date): boolean {
    const since = Math.max(this.deps.now().getTime() - this.deps.graceMs, this.inventory.daemonStartedAt?.getTime() ?? 0);
    return at.getTime() > since;
  }

  /** State dirs of the containers that are live (their port reservations stay). */
  async liveStateDirs(): Promise<Set<string>> {
    const dirs = new Set<string>();
    for (const c of this.inventory.containers) {
      const dir = c.labels[Labels.stateDir];
      if (dir && (await this.verdictOf(c.namespace, c.id)) === 'live') dirs.add(dir);
    }
    return dirs;
  }
}
