/** `ps [-a]`: one summary per container, in Docker's column vocabulary. */
import { humanDuration } from '../../domain/human-duration.ts';
import { formatPortsColumn } from '../../domain/publish/index.ts';
import type { ContainerContext } from './context.ts';
import { isRunning, listContainerViews, networked, type ContainerView } from './container-view.ts';

export interface ContainerSummary {
  id: string;
  image: string;
  command: string;
  createdAt: Date;
  /** When the current task started; undefined when not known. */
  startedAt: Date | undefined;
  /** "Up", "Exited (3) 2 minutes ago", "Exited (3) 2 minutes ago", "Created". */
  status: string;
  state: 'running' | 'paused' | 'exited' | 'created';
  ports: string;
  names: string;
  labels: Record<string, string>;
}

export async function listContainers(ctx: ContainerContext, options: { all: boolean }, now = new Date()): Promise<ContainerSummary[]> {
  const views = await listContainerViews(ctx);
  const shown = views
    .filter((v) => options.all || isRunning(v.task))
    .sort((a, b) => b.record.createdAt.getTime() - a.record.createdAt.getTime());
  return Promise.all(
    shown.map(async (v) => {
      const { started_at } = await ctx.stateFiles.readLifecycle(v.stateDir).catch(() => ({ started_at: undefined }));
      // Docker shows the ports of running containers only: a stopped one no longer forwards them. [::] too on IPv6.
      const ports = isRunning(v.task) ? formatPortsColumn(await ctx.networking.publishedPorts(networked(v))) : '';
      return summarize(v, now, started_at ? new Date(started_at) : undefined, ports);
    }),
  );
}

function summarize(view: ContainerView, now: Date, startedAt: Date | undefined, ports: string): ContainerSummary {
  const { task, record } = view;
  let state: ContainerSummary['state'] = 'created';
  let status = 'Created';
  if (task?.status === 'running') {
    state = 'running';
    status = 'Up';
  } else if (task?.status === 'paused' || task?.status === 'pausing') {
    state = 'paused';
    status = 'Paused';
  } else if (task?.status === 'stopped') {
    state = 'exited';
    const ago = task.exitedAt ? ` ${humanDuration(now.getTime() - task.exitedAt.getTime())} ago` : '';
    status = `Exited (${task.exitStatus})${ago}`;
  }
  return {
    id: view.id,
    image: record.image,
    command: (record.spec.process?.args ?? []).join(' '),
    createdAt: record.createdAt,
    startedAt,
    status,
    state,
    ports,
    names: view.name ?? '',
    labels: record.labels,
  };
}
