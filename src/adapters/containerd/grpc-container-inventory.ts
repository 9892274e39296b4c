/** ContainerInventory over containerd's Namespaces, Containers and Tasks services. */
import { stat } from 'node:fs/promises';
import type { TaskStatus } from '../../interfaces/container-runtime.ts';
import type { ContainerInventory, Inventory, InventoryContainer } from '../../interfaces/container-inventory.ts';
import type { ContainerdClient } from './client.ts';

export class GrpcContainerInventory implements ContainerInventory {
  private readonly client: ContainerdClient;

  constructor(client: ContainerdClient) {
    this.client = client;
  }

  async list(): Promise<Inventory> {
    const { namespaces } = await this.client.namespaces.List({});
    const names = namespaces.map((n) => n.name);
    const containers: InventoryContainer[] = [];
    for (const namespace of names) {
      const [listed, tasks] = await Promise.all([
        this.client.containers.List({}, { namespace }),
        this.client.tasks.List({}, { namespace }),
      ]);
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
    return { namespaces: names, containers, daemonStartedAt: socket?.ctime };
  }
}
