/** `logs [-f]`: the log file of a detached container; `-f` follows it until the task exits. */
import { join } from 'node:path';
import type { ContainerContext } from './context.ts';
import { LOG_FILE } from './context.ts';
import { findContainerView, isRunning } from './container-view.ts';

export async function printContainerLogs(ctx: ContainerContext, ref: string, options: { follow: boolean }): Promise<void> {
  const view = await findContainerView(ctx, ref);
  const logPath = join(view.stateDir, LOG_FILE);
  const until = options.follow && isRunning(view.task) ? ctx.runtime.waitTask(view.id) : undefined;
  await ctx.io.printLog(logPath, until);
}
