/**
 * `rm [-f]`: kills (with -f) and deletes the task, then the container record,
 * its snapshot, name and state dir. Best effort: every step runs, failures
 * are reported together; things already gone count as removed.
 */
import { ErrorList, conflict, isTsnerdError } from '../../domain/errors.ts';
import { shortId } from '../../domain/container-ref.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView, isRunning, networked, type ContainerView } from './container-view.ts';
import { reclaimByRef } from './reclaim-creation.ts';

const SIGKILL = 9;

export async function removeContainer(ctx: ContainerContext, ref: string, options: { force: boolean }): Promise<string> {
  let view: ContainerView;
  try {
    view = await findContainerView(ctx, ref);
  } catch (err) {
    // A `run`/`create` killed before containerd held the container left only our traces.
    const reclaimed = isTsnerdError(err, 'not-found') ? await reclaimByRef(ctx, ref) : undefined;
    if (reclaimed !== undefined) return reclaimed;
    throw err;
  }
  if (isRunning(view.task) && !options.force) {
    throw conflict(`you cannot remove a running container ${view.id}. Stop the container before attempting removal or force remove`);
  }
  await destroyContainer(ctx, view);
  return view.id;
}

/** Removes everything a container owns, whatever state it is in. */
export async function destroyContainer(ctx: ContainerContext, view: ContainerView): Promise<void> {
  const errors = new ErrorList();
  const ignoreMissing = (fn: () => Promise<unknown>, list = errors) =>
    list.attempt(async () => {
      try {
        await fn();
      } catch (err) {
        if (!isTsnerdError(err, 'not-found')) throw err;
      }
    });
  if (view.task) {
    const kill = async () => {
      const exited = ctx.runtime.waitTask(view.id);
      await ctx.runtime.killTask(view.id, SIGKILL, { all: true });
      await exited;
    };
    if (isRunning(view.task)) await ignoreMissing(kill);
    const taskLeft = new ErrorList();
    await ignoreMissing(async () => {
      try {
        await ctx.runtime.deleteTask(view.id);
      } catch (err) {
        if (isTsnerdError(err, 'not-found')) throw err;
        // Started since we looked (a `run` of this very container racing this `rm -f`; found by the
        // chaos soak): killed now, then deleted.
        await kill();
        await ctx.runtime.deleteTask(view.id);
      }
    }, taskLeft);
    if (taskLeft.errors.length > 0) {
      // A task that stays must keep its record, name and networks: a later `rm -f` finds them all.
      for (const err of taskLeft.errors) errors.add(err);
      errors.add(new Error(`container ${shortId(view.id)} was not removed: its task is still there`));
      errors.throwIfAny();
    }
  } else if (view.owner === 'tsnerd') {
    // containerd has no task, yet the init the createRuntime hook saw may live on: containerd
    // restarted while the task was being created (a `run` killed then leaves the shim waiting
    // on its stdio FIFOs) forgets it. Found by the chaos soak: its netns, and the veth in it,
    // outlived the container. Killed here, the netns goes with it; then the DEL below. Its shim
    // (no task for containerd to delete) goes too.
    await errors.attempt(async () => {
      const { pid, pid_start: start } = await ctx.stateFiles.readLifecycle(view.stateDir);
      if (pid !== undefined && start !== undefined) await ctx.host.killProcess(pid, start);
      await ctx.host.killShims(view.id);
    });
  }
  // What no postStop released (there is none without a task, after a reboot or crash; or it
  // failed on a damaged or deleted state dir): DEL of the attachments the CNI cache still holds;
  // beside it (own locks each, as in postStop), after the task: its postStop hook has left the
  // networks; now drop the hosts entry.
  // (The state and hosts dirs are in tsnerd's data store whoever made the container: `start` of
  // another tool's container writes its log there. nerdctl's own records stay in nerdctl's.)
  // The snapshot beside them and the record: a snapshot may go before its record (a second
  // `rm` finds it gone), and the record's removal leaves the snapshot alone.
  await sideBySide(errors, [
    async (list) => {
      await sideBySide(list, [
        (l) => l.attempt(() => ctx.networking.releaseLeftovers(networked(view))),
        (l) => l.attempt(() => ctx.networking.removed(view.id, view.stateDir)),
      ]);
      // The record once the networks are left: until then a second `rm` can still find the container.
      // Claimed first, as a creation is: a removal killed once the record is gone (found by the
      // chaos soak: its name stayed taken by a container nothing listed) leaves a claim whose
      // owner is dead, and `run --name`, `rm` and `network gc` reclaim the name and state dir.
      // Without the claim the record stays; a removal that fails gives the claim back.
      try {
        await ctx.host.claimRemoval(view.stateDir, view.name ?? '');
      } catch (err) {
        list.add(err);
        return;
      }
      await list.attempt(async () => {
        try {
          await ctx.runtime.deleteContainer(view.id);
        } catch (err) {
          if (isTsnerdError(err, 'not-found')) return;
          await ctx.host.commitCreation(view.stateDir);
          throw err;
        }
      });
    },
    (list) =>
      view.record.snapshotKey ? ignoreMissing(() => ctx.runtime.removeSnapshot(view.record.snapshotKey), list) : Promise.resolve(),
  ]);
  ctx.host.faultPoint('record-removed');
  // The name only once the record is gone: a new container must not take it while this one is listed.
  if (view.name) await errors.attempt(() => ctx.names.release(view.name!, view.id));
  await errors.attempt(() => ctx.host.removeStateDir(view.stateDir));
  if (errors.errors.length > 0) {
    errors.add(new Error(`container ${shortId(view.id)} was not removed completely`));
  }
  errors.throwIfAny();
}

/** Runs the steps at once; their failures are recorded in the steps' order, as if run one by one. */
async function sideBySide(errors: ErrorList, steps: ((list: ErrorList) => Promise<void>)[]): Promise<void> {
  const lists = steps.map(() => new ErrorList());
  await Promise.all(steps.map((step, i) => step(lists[i]!)));
  for (const list of lists) for (const err of list.errors) errors.add(err);
}
