/** ContainerInventory over containerd's Namespaces, Containers and Tasks services. */
import { stat } from 'node:fs/promises';
import type { TaskStatus } from '../../interfaces/container-runtime.ts';
import type { ContainerInventory, Inventory, InventoryContainer } from '../../interfaces/container-inventory.ts';
import type { ContainerdClient } from './client.ts';
import { isTsnerdError } from '../../domain/errors.ts';
import { SNAPSHOT_LEASE_PREFIX, SNAPSHOTTER } from './grpc-container-runtime.ts';

export class GrpcContainerInventory implements ContainerInventory {
  private readonly client: ContainerdClient;

  constructor(client: ContainerdClient) {
    this.client = client;
  }

  async list(): Promise<Inventory> {
    const { namespaces } = await this.client.namespaces.List({});
    const names = namespaces.map((n) => n.name);
    const containers: InventoryContainer[] = [];
    const snapshotLeases: Inventory['snapshotLeases'] = [];
    for (const namespace of names) {
      const [listed, tasks, leases] = await Promise.all([
        this.client.containers.List({}, { namespace }),
        this.client.tasks.List({}, { namespace }),
        this.client.leases.List({}, { namespace }),
      ]);
      for (const l of leases.leases) {
        if (l.id.startsWith(SNAPSHOT_LEASE_PREFIX)) snapshotLeases.push({ namespace, key: l.id.slice(SNAPSHOT_LEASE_PREFIX.length) });
      }
      const byId = new Map(tasks.tasks.map((t) => [t.container_id || t.id, t]));
      for (const c of listed.containers) {
        const t = byId.get(c.id);
        containers.push({
          namespace,
          id: c.id,
          labels: c.labels,
          task: t ? { status: String(t.status).toLowerCase() as TaskStatus, pid: t.pid } : undefined,
        });
      }
    }
    const socket = await stat(this.client.address).catch(() => undefined);
    return { namespaces: names, containers, daemonStartedAt: socket?.ctime, snapshotLeases };
  }

  async exists(namespace: string, id: string): Promise<boolean> {
    return this.client.containers.Get({ id }, { namespace }).then(
      () => true,
      (err: unknown) => {
        if (isTsnerdError(err, 'not-found')) return false;
        throw err;
      },
    );
  }

  async removeSnapshot(namespace: string, key: string): Promise<void> {
    const notFound = (err: unknown) => {
      if (!isTsnerdError(err, 'not-found')) throw err;
    };
    await Promise.all([
      this.client.leases.Delete({ id: `${SNAPSHOT_LEASE_PREFIX}${key}`, sync: false }, { namespace }).catch(notFound),
      this.client.snapshots.Remove({ snapshotter: SNAPSHOTTER, key }, { namespace }).catch(notFound),
    ]);
  }
}
