/** `--net container:<ref>`: the running container whose network namespace and files are shared. */
import { invalid } from '../../domain/errors.ts';
import type { JoinTarget } from '../../interfaces/container-network-host.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView, isRunning } from './container-view.ts';
import { quote } from '../../domain/text.ts';

export async function joinTarget(ctx: ContainerContext, ref: string): Promise<JoinTarget> {
  const view = await findContainerView(ctx, ref);
  if (!isRunning(view.task)) throw invalid(`container ${quote(ref)} is not running: cannot join its network namespace`);
  const paths = ctx.networking.paths({ id: view.id, pid: view.task!.pid, stateDir: view.stateDir, labels: view.record.labels });
  return { id: view.id, pid: view.task!.pid, stateDir: view.stateDir, hostsPath: paths.HostsPath };
}
