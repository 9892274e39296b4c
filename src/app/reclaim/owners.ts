/**
 * Who owns a piece of CNI state, and whether that owner is alive: the rule
 * `network gc` and `rm` of a task-less container share.
 *
 * An owner is a CNI container ID `<namespace>-<id>`. It is
 * - foreign when no containerd namespace prefixes it (another runtime's, or
 *   another containerd's): never touched;
 * - live when containerd has the container with a task that is not stopped,
 *   or when its state dir changed within the grace period after containerd
 *   started (a createRuntime hook may still be running: containerd lists the
 *   task only once runc create returns);
 * - dead otherwise: the container is gone, or has no task or a stopped one
 *   (after a reboot or a containerd crash, or a process that exited).
 */
import { Labels } from '../../domain/labels.ts';
import type { Inventory, InventoryContainer } from '../../interfaces/container-inventory.ts';
import type { ReclaimDeps } from './deps.ts';

export type Verdict = 'live' | 'dead' | 'foreign';

const NERDCTL_STATE_DIR = 'nerdctl/state-dir';

export class Owners {
  private readonly inventory: Inventory;
  private readonly deps: Pick<ReclaimDeps, 'store' | 'now' | 'graceMs'>;
  private readonly byKey: Map<string, InventoryContainer>;
  /** Longest first, so `a-b` wins over `a` for `a-b-<id>`. */
  private readonly namespaces: string[];
  private readonly cache = new Map<string, Promise<Verdict>>();

  constructor(inventory: Inventory, deps: Pick<ReclaimDeps, 'store' | 'now' | 'graceMs'>) {
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
    if (!c) return 'dead';
    if (c.task && c.task.status !== 'stopped') return 'live';
    const stateDir = c.labels[Labels.stateDir] ?? c.labels[NERDCTL_STATE_DIR];
    const activity = stateDir ? await this.deps.store.lastActivity(stateDir) : undefined;
    return activity && this.recent(activity) ? 'live' : 'dead';
  }

  /** Within the grace period, and since containerd started. */
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
