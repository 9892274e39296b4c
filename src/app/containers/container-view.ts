/** A container as the commands show it: containerd's record plus its task and our labels. */
import { findContainer } from '../../domain/container-ref.ts';
import { NERDCTL_NAME_LABEL, containerOwner, decodeIdentityLabels, type ContainerOwner } from '../../domain/labels.ts';
import type { ContainerRecord, TaskInfo } from '../../interfaces/container-runtime.ts';
import type { ContainerContext } from './context.ts';
import type { NetworkedContainer } from '../attach/container-networking.ts';

export interface ContainerView {
  id: string;
  name: string | undefined;
  record: ContainerRecord;
  task: TaskInfo | undefined;
  stateDir: string;
  /** tsnerd's own containers get the whole treatment; the others only what their tool would do (see ContainerOwner). */
  owner: ContainerOwner;
}

export function toView(ctx: ContainerContext, record: ContainerRecord, task: TaskInfo | undefined): ContainerView {
  return {
    id: record.id,
    name: nameOf(record.labels),
    record,
    task,
    stateDir: decodeIdentityLabels(record.labels).stateDir ?? ctx.layout.containerDir(ctx.namespace, record.id),
    owner: containerOwner(record.labels),
  };
}

/** tsnerd's name label, else nerdctl's: nerdctl's containers are listed and found by their names too. */
function nameOf(labels: Record<string, string>): string | undefined {
  return decodeIdentityLabels(labels).name ?? (labels[NERDCTL_NAME_LABEL] || undefined);
}

/** The container as the networking side sees it. */
export function networked(view: ContainerView): NetworkedContainer {
  return { id: view.id, pid: isRunning(view.task) ? view.task!.pid : 0, stateDir: view.stateDir, labels: view.record.labels };
}

export function isRunning(task: TaskInfo | undefined): boolean {
  return task !== undefined && (task.status === 'running' || task.status === 'paused' || task.status === 'pausing');
}

/** Looks a container up by full ID, name or unique ID prefix. */
export async function findContainerView(ctx: ContainerContext, ref: string): Promise<ContainerView> {
  const records = await ctx.runtime.listContainers();
  const found = findContainer(
    ref,
    records.map((record) => ({ id: record.id, name: nameOf(record.labels), record })),
  );
  return toView(ctx, found.record, await ctx.runtime.getTask(found.id));
}

export async function listContainerViews(ctx: ContainerContext): Promise<ContainerView[]> {
  // One call for every task (containerd asks each shim either way): not one round trip per container.
  const [records, tasks] = await Promise.all([ctx.runtime.listContainers(), ctx.runtime.listTasks()]);
  return Promise.all(records.map((r) => toView(ctx, r, tasks.get(r.id))));
}
