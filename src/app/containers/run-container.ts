/**
 * `run`: create, then start attached or detached. A failure before the
 * process started rolls back everything `create` made; after it, the container stays. `--rm` in the
 * foreground removes the container after it exits; with `-d` a detached
 * `tsnerd internal auto-remove` process waits for the exit and removes it.
 */
import type { ContainerContext } from './context.ts';
import { LOG_FILE } from './context.ts';
import { toView } from './container-view.ts';
import { createContainer, type CreateContainerInput } from './create-container.ts';
import { destroyContainer } from './remove-container.ts';
import { runAttached, startTask } from './start-container.ts';
import { UndoStack } from './undo-stack.ts';
import { join } from 'node:path';

export interface RunContainerInput extends CreateContainerInput {
  detach: boolean;
  interactive: boolean;
}

export type RunResult = { id: string; detached: true } | { id: string; detached: false; exitCode: number };

export async function runContainer(ctx: ContainerContext, input: RunContainerInput): Promise<RunResult> {
  const undo = new UndoStack();
  const created = await createContainer(ctx, input, undo);
  const view = toView(ctx, created.record, undefined);
  if (input.detach) {
    await undo.guard(() => startTask(ctx, view, ctx.io.logTo(join(created.stateDir, LOG_FILE)), { rootfs: created.rootfs }));
    if (input.autoRemove) ctx.host.spawnAutoRemove(created.id);
    return { id: created.id, detached: true };
  }
  let exitCode: number;
  let started = false;
  try {
    exitCode = await runAttached(ctx, view, {
      interactive: input.interactive,
      rootfs: created.rootfs,
      onStarted: () => {
        started = true;
        undo.commit();
      },
    });
  } catch (err) {
    // Before the start: everything `create` made goes. After it (the wait for the exit failed:
    // containerd restarted under us), the container runs and stays, listed, as with -d; with
    // --rm it is still removed once it exits. Rolling it back then took its record, name and
    // state dir from under a running task (found with the CLI server, which outlives that).
    if (!started) await undo.rollback();
    else if (input.autoRemove) ctx.host.spawnAutoRemove(created.id);
    throw err;
  }
  if (input.autoRemove) {
    // The task has exited (we waited for it): no need to ask containerd.
    const exited = { pid: 0, status: 'stopped' as const, exitStatus: exitCode, exitedAt: new Date() };
    await destroyContainer(ctx, toView(ctx, created.record, exited));
  }
  return { id: created.id, detached: false, exitCode };
}
