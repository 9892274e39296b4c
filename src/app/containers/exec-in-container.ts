/** `exec [-i] CTR CMD…`: a new process in the running container, attached to our stdio. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { invalid } from '../../domain/errors.ts';
import { execProcess } from '../../domain/oci/spec.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView, isRunning } from './container-view.ts';

export interface ExecInput {
  args: string[];
  interactive: boolean;
  env: string[];
  workdir?: string | undefined;
}

/** Returns the exit code of the exec'd process. */
export async function execInContainer(ctx: ContainerContext, ref: string, input: ExecInput): Promise<number> {
  const view = await findContainerView(ctx, ref);
  if (!isRunning(view.task)) throw invalid(`container ${view.id} is not running`);
  const execId = `exec-${randomBytes(8).toString('hex')}`;
  const io = await ctx.io.attach(join(view.stateDir, execId), { stdin: input.interactive });
  try {
    const process = execProcess(view.record.spec.process, input.args, {
      env: input.env,
      ...(input.workdir ? { cwd: input.workdir } : {}),
    });
    await ctx.runtime.execProcess(view.id, execId, process, io.stdio);
    try {
      const exited = ctx.runtime.waitTask(view.id, execId);
      await ctx.runtime.startTask(view.id, execId);
      io.taskCreated(); // an exec's shim opens its FIFOs in Start
      if (input.interactive) {
        io.stdinEnded.then(
          () => ctx.runtime.closeStdin(view.id, execId).catch(() => {}),
          () => {},
        );
      }
      const { exitStatus } = await exited;
      await io.drained;
      return exitStatus;
    } finally {
      await ctx.runtime.deleteProcess(view.id, execId).catch(() => {});
    }
  } finally {
    await io.close();
  }
}
