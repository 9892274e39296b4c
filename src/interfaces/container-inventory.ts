/** Every container containerd knows, in every namespace: what garbage collection compares the host with. */
import type { TaskStatus } from './container-runtime.ts';

export interface InventoryContainer {
  namespace: string;
  id: string;
  labels: Record<string, string>;
  /** undefined when the container has no task. */
  task: { status: TaskStatus; pid: number } | undefined;
}

export interface Inventory {
  namespaces: string[];
  containers: InventoryContainer[];
  /** When the running containerd started (its socket's change time); tasks older than that did not survive it. */
  daemonStartedAt: Date | undefined;
  /**
   * Snapshots a `create`/`run` prepared under its lease (`tsnerd-snapshot-<key>`,
   * the key being the container ID) that no committed container has taken over yet.
   */
  snapshotLeases: { namespace: string; key: string }[];
}

export interface ContainerInventory {
  list(): Promise<Inventory>;
  /** Whether containerd has the container now (gc re-checks what its listing did not show). */
  exists(namespace: string, id: string): Promise<boolean>;
  /** Removes a creation's snapshot and its lease (either may be gone already). */
  removeSnapshot(namespace: string, key: string): Promise<void>;
}
