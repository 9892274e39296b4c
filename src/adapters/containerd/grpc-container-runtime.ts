/**
 * ContainerRuntime over containerd's Containers, Snapshots and Tasks services.
 * Containers use the runc v2 shim and the overlayfs snapshotter; the spec is
 * stored as JSON in an Any, as containerd's Go client does.
 */
import { isTsnerdError } from '../../domain/errors.ts';
import { OCI_SPEC_TYPE_URL, type OciProcess, type OciSpec } from '../../domain/oci/spec.ts';
import type {
  ContainerRecord,
  ContainerRuntime,
  ExitResult,
  NewContainer,
  RootfsMount,
  TaskInfo,
  TaskStatus,
  TaskStdio,
} from '../../interfaces/container-runtime.ts';
import type { ContainerdClient } from './client.ts';
import type { Container__Output } from './generated/containerd/services/containers/v1/Container.ts';
import type { Mount__Output } from './generated/containerd/types/Mount.ts';
import type { Process__Output } from './generated/containerd/v1/types/Process.ts';
import type { Timestamp__Output } from './generated/google/protobuf/Timestamp.ts';

export const RUNTIME = 'io.containerd.runc.v2';
export const SNAPSHOTTER = 'overlayfs';
const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const SNAPSHOT_LEASE_MS = 60 * 60 * 1000;

/** The lease that keeps a creation's snapshot from containerd's GC until the container record holds it. */
export const SNAPSHOT_LEASE_PREFIX = 'tsnerd-snapshot-';

function snapshotLease(key: string): string {
  return `${SNAPSHOT_LEASE_PREFIX}${key}`;
}

export class GrpcContainerRuntime implements ContainerRuntime {
  private readonly client: ContainerdClient;
  /** Snapshots whose lease this process has already dropped (`run --rm` removes its own). */
  private readonly leaseDropped = new Set<string>();

  constructor(client: ContainerdClient) {
    this.client = client;
  }

  async createContainer(c: NewContainer): Promise<void> {
    await this.client.containers.Create({
      container: {
        id: c.id,
        image: c.image,
        labels: c.labels,
        runtime: { name: RUNTIME },
        spec: { type_url: OCI_SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(c.spec)) },
        snapshotter: SNAPSHOTTER,
        snapshot_key: c.snapshotKey,
      },
    });
    // The container record now keeps the snapshot alive; the lease has done its job. Nothing
    // waits for its end (the task is created meanwhile): a lease left by a failure expires by
    // itself, and removing the snapshot drops it too.
    this.client.inBackground(this.dropSnapshotLease(c.snapshotKey));
  }

  async getContainer(id: string): Promise<ContainerRecord> {
    const res = await this.client.containers.Get({ id });
    return toRecord(res.container!);
  }

  async listContainers(): Promise<ContainerRecord[]> {
    const res = await this.client.containers.List({});
    return res.containers.map(toRecord);
  }

  async updateSpec(id: string, spec: OciSpec): Promise<void> {
    await this.client.containers.Update({
      container: { id, spec: { type_url: OCI_SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec)) } },
      update_mask: { paths: ['spec'] },
    });
  }

  async deleteContainer(id: string): Promise<void> {
    await this.client.containers.Delete({ id });
  }

  /**
   * A new snapshot is referenced by nothing until its container record exists,
   * so containerd's garbage collector may take it meanwhile (seen after ~100
   * containers). It is made under a lease that expires by itself, dropped once
   * the record exists or the snapshot is removed.
   */
  async prepareSnapshot(key: string, parentChainId: string): Promise<RootfsMount[]> {
    const lease = snapshotLease(key);
    const expire = new Date(Date.now() + SNAPSHOT_LEASE_MS).toISOString();
    await this.client.leases.Create({ id: lease, labels: { 'containerd.io/gc.expire': expire } });
    const res = await this.client.withLease(lease).snapshots.Prepare({ snapshotter: SNAPSHOTTER, key, parent: parentChainId });
    return res.mounts.map(toMount);
  }

  private async dropSnapshotLease(key: string): Promise<void> {
    if (this.leaseDropped.has(key)) return;
    await this.client.leases.Delete({ id: snapshotLease(key), sync: false }).catch((err: unknown) => {
      if (!isTsnerdError(err, 'not-found')) throw err;
    });
    this.leaseDropped.add(key);
  }

  async snapshotMounts(key: string): Promise<RootfsMount[]> {
    const res = await this.client.snapshots.Mounts({ snapshotter: SNAPSHOTTER, key });
    return res.mounts.map(toMount);
  }

  async removeSnapshot(key: string): Promise<void> {
    // Independent calls: the lease only kept the snapshot from GC until its record existed.
    await Promise.all([this.dropSnapshotLease(key), this.client.snapshots.Remove({ snapshotter: SNAPSHOTTER, key })]);
  }

  async createTask(id: string, rootfs: RootfsMount[], stdio: TaskStdio, options: { timeoutMs?: number } = {}): Promise<number> {
    const res = await this.client.tasks.Create(
      { container_id: id, rootfs, ...stdio, terminal: false },
      options.timeoutMs === undefined ? undefined : { timeoutMs: options.timeoutMs },
    );
    return res.pid;
  }

  async startTask(id: string, execId = ''): Promise<number> {
    const res = await this.client.tasks.Start({ container_id: id, exec_id: execId });
    return res.pid;
  }

  async waitTask(id: string, execId = '', signal?: AbortSignal): Promise<ExitResult> {
    const res = await this.client.tasks.Wait({ container_id: id, exec_id: execId }, { timeoutMs: Infinity, ...(signal ? { signal } : {}) });
    return { exitStatus: res.exit_status, exitedAt: toDate(res.exited_at) };
  }

  async killTask(id: string, signal: number, options: { all?: boolean; execId?: string } = {}): Promise<void> {
    await this.client.tasks.Kill({ container_id: id, exec_id: options.execId ?? '', signal, all: options.all ?? false });
  }

  async deleteTask(id: string): Promise<ExitResult> {
    const res = await this.client.tasks.Delete({ container_id: id });
    return { exitStatus: res.exit_status, exitedAt: toDate(res.exited_at) };
  }

  async getTask(id: string): Promise<TaskInfo | undefined> {
    try {
      const { process: p } = await this.client.tasks.Get({ container_id: id, exec_id: '' });
      return p ? taskInfo(p) : undefined;
    } catch (err) {
      if (isTsnerdError(err, 'not-found')) return undefined;
      throw err;
    }
  }

  async listTasks(): Promise<Map<string, TaskInfo>> {
    const { tasks } = await this.client.tasks.List({ filter: '' });
    return new Map(tasks.map((p) => [p.container_id || p.id, taskInfo(p)]));
  }

  async execProcess(id: string, execId: string, process: OciProcess, stdio: TaskStdio): Promise<void> {
    await this.client.tasks.Exec({
      container_id: id,
      exec_id: execId,
      ...stdio,
      terminal: false,
      spec: { type_url: PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify(process)) },
    });
  }

  async deleteProcess(id: string, execId: string): Promise<void> {
    await this.client.tasks.DeleteProcess({ container_id: id, exec_id: execId });
  }

  async closeStdin(id: string, execId = ''): Promise<void> {
    await this.client.tasks.CloseIO({ container_id: id, exec_id: execId, stdin: true });
  }
}

function toRecord(c: Container__Output): ContainerRecord {
  return {
    id: c.id,
    image: c.image,
    labels: c.labels,
    spec: JSON.parse(c.spec?.value.toString('utf8') || '{}') as OciSpec,
    snapshotKey: c.snapshot_key,
    createdAt: toDate(c.created_at) ?? new Date(0),
  };
}

function taskInfo(p: Process__Output): TaskInfo {
  return { pid: p.pid, status: p.status.toLowerCase() as TaskStatus, exitStatus: p.exit_status, exitedAt: toDate(p.exited_at) };
}

function toMount(m: Mount__Output): RootfsMount {
  return { type: m.type, source: m.source, options: m.options };
}

/** containerd reports "no time" as the zero time (year 1) or an absent field. */
function toDate(ts: Timestamp__Output | null | undefined): Date | undefined {
  if (!ts) return undefined;
  const seconds = Number(ts.seconds);
  if (seconds <= 0) return undefined;
  return new Date(seconds * 1000 + Math.floor(ts.nanos / 1e6));
}
