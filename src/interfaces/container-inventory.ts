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
}

export interface ContainerInventory {
  list(): Promise<Inventory>;
}
