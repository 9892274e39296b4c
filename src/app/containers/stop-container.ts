/**
 * `stop` and `kill`. The stopped task is kept (not deleted), as nerdctl does,
 * so the postStop hook runs only at `rm` or the next `start`.
 */
import { invalid } from '../../domain/errors.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView, isRunning, networked } from './container-view.ts';

const SIGTERM = 15;
const SIGKILL = 9;

/**
 * SIGTERM, then SIGKILL to every process after `timeoutSeconds`; then the network goes, in the
 * container's netns held open from before the signal (the plugins clean up in it fully). The
 * signal comes first: a stop killed before it leaves the container running with its network,
 * one killed after it a container that exits and whose network the port holder's watcher
 * releases as any exit. (The network used to go first: a stop killed between the two left the
 * container running without its network, its port free for another.) Stopping a stopped
 * container is a no-op.
 */
export async function stopContainer(ctx: ContainerContext, ref: string, timeoutSeconds: number): Promise<string> {
  const view = await findContainerView(ctx, ref);
  if (!isRunning(view.task)) return view.id;
  const abort = new AbortController();
  const exited = ctx.runtime.waitTask(view.id, '', abort.signal);
  exited.catch(() => {});
  const held = ctx.host.holdNetns(view.task!.pid);
  try {
    await ctx.runtime.killTask(view.id, SIGTERM);
    ctx.host.faultPoint('stop-signalled');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutSeconds * 1000);
    });
    const first = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') {
      await ctx.runtime.killTask(view.id, SIGKILL, { all: true });
      await exited;
    }
    await ctx.networking.beforeStop(networked(view), held?.path ?? '');
  } finally {
    held?.release();
  }
  return view.id;
}

export async function killContainer(ctx: ContainerContext, ref: string, signal: number): Promise<string> {
  const view = await findContainerView(ctx, ref);
  if (!isRunning(view.task)) throw invalid(`cannot kill container ${view.id}: container is not running`);
  if (signal !== SIGKILL) {
    // Another signal may not end it (HUP to reload a server, TERM to an init that ignores it):
    // as with Docker, the container keeps its network, and if it does exit, the port holder's
    // watcher releases the network within ~1 s. (nerdctl detaches on every signal, so a
    // container that lives on has lost its ports and addresses for good: finch #1795.)
    await ctx.runtime.killTask(view.id, signal);
    return view.id;
  }
  // SIGKILL ends it: as `stop`, the signal first, then the network in the netns held open.
  const exited = ctx.runtime.waitTask(view.id);
  exited.catch(() => {});
  const held = ctx.host.holdNetns(view.task!.pid);
  try {
    await ctx.runtime.killTask(view.id, signal);
    ctx.host.faultPoint('stop-signalled');
    await exited;
    await ctx.networking.beforeStop(networked(view), held?.path ?? '');
  } finally {
    held?.release();
  }
  return view.id;
}
