/** containerd's containers, snapshots and tasks, in domain terms. */
import type { OciProcess, OciSpec } from '../domain/oci/spec.ts';

export interface RootfsMount {
  type: string;
  source: string;
  options: string[];
}

export interface ContainerRecord {
  id: string;
  image: string;
  labels: Record<string, string>;
  spec: OciSpec;
  snapshotKey: string;
  createdAt: Date;
}

export interface NewContainer {
  id: string;
  image: string;
  labels: Record<string, string>;
  spec: OciSpec;
  snapshotKey: string;
}

export type TaskStatus = 'created' | 'running' | 'stopped' | 'paused' | 'pausing' | 'unknown';

export interface TaskInfo {
  pid: number;
  status: TaskStatus;
  exitStatus: number;
  exitedAt: Date | undefined;
}

/**
 * Where a process's stdio goes: FIFO paths, or a `file://` URI (stdout and
 * stderr then share one file written by the shim). Empty strings mean none.
 */
export interface TaskStdio {
  stdin: string;
  stdout: string;
  stderr: string;
}

export interface ExitResult {
  exitStatus: number;
  exitedAt: Date | undefined;
}

export interface ContainerRuntime {
  createContainer(container: NewContainer): Promise<void>;
  /** Throws `not-found` when there is no such container. */
  getContainer(id: string): Promise<ContainerRecord>;
  listContainers(): Promise<ContainerRecord[]>;
  deleteContainer(id: string): Promise<void>;
  /** Replaces the container's OCI spec (the next task is created from it). */
  updateSpec(id: string, spec: OciSpec): Promise<void>;

  /** Makes a writable snapshot on top of the image's top layer; returns its mounts. */
  prepareSnapshot(key: string, parentChainId: string): Promise<RootfsMount[]>;
  snapshotMounts(key: string): Promise<RootfsMount[]>;
  removeSnapshot(key: string): Promise<void>;

  /** Returns the pid of the (created, not started) init process. */
  /** `timeoutMs`: how long containerd may take (its createRuntime hook included); the client's default otherwise. */
  createTask(id: string, rootfs: RootfsMount[], stdio: TaskStdio, options?: { timeoutMs?: number }): Promise<number>;
  startTask(id: string, execId?: string): Promise<number>;
  /** Waits for the process to exit, without a deadline. */
  waitTask(id: string, execId?: string, signal?: AbortSignal): Promise<ExitResult>;
  killTask(id: string, signal: number, options?: { all?: boolean; execId?: string }): Promise<void>;
  /** Deletes a stopped task (fires the postStop hook). */
  deleteTask(id: string): Promise<ExitResult>;
  /** `undefined` when the container has no task. */
  getTask(id: string): Promise<TaskInfo | undefined>;
  /** The init tasks of every container that has one, by container ID: one call for all (ps). */
  listTasks(): Promise<Map<string, TaskInfo>>;
  execProcess(id: string, execId: string, process: OciProcess, stdio: TaskStdio): Promise<void>;
  deleteProcess(id: string, execId: string): Promise<void>;
  closeStdin(id: string, execId?: string): Promise<void>;
}
