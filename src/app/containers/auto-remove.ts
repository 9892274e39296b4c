/** The detached reaper of `run -d --rm`: waits for the task to exit, then removes the container. */
import { isTsnerdError } from '../../domain/errors.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView } from './container-view.ts';
import { destroyContainer } from './remove-container.ts';

export async function autoRemoveOnExit(ctx: ContainerContext, id: string): Promise<void> {
  try {
    await ctx.runtime.waitTask(id);
    await destroyContainer(ctx, await findContainerView(ctx, id));
  } catch (err) {
    // Removed by someone else in the meantime (`rm -f`): nothing left to do.
    if (!isTsnerdError(err, 'not-found')) throw err;
  }
}
