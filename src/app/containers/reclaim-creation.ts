/**
 * Reclaiming what a `create`/`run` killed before containerd held the container
 * leaves: the name, the state dir (with the ports it claimed in
 * network-config.json), the hosts file and the snapshot with its lease. Such a
 * creation is recognised by its state dir's creation claim, whose owner process
 * is gone, and by containerd not knowing the ID. `run --name` reclaims a name
 * held this way and `rm` a container reference that only such a trace matches.
 */
import { ErrorList, isTsnerdError } from '../../domain/errors.ts';
import type { ContainerContext } from './context.ts';

/** Names and IDs: nothing that could step out of the store's directories. */
const PLAIN_REF = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Releases the abandoned creation of `id`; false (and nothing touched) if it is not one. */
export async function reclaimAbandonedCreation(ctx: ContainerContext, id: string): Promise<boolean> {
  const stateDir = ctx.layout.containerDir(ctx.namespace, id);
  const claim = await ctx.host.creationClaim(stateDir);
  if (!claim || claim.ownerAlive || (await containerExists(ctx, id))) return false;
  const errors = new ErrorList();
  await errors.attempt(() =>
    ctx.runtime.removeSnapshot(id).catch((err: unknown) => {
      if (!isTsnerdError(err, 'not-found')) throw err;
    }),
  );
  await errors.attempt(() => ctx.networking.removed(id, stateDir));
  if (claim.name) await errors.attempt(() => ctx.names.release(claim.name, id));
  await errors.attempt(() => ctx.host.removeStateDir(stateDir));
  errors.throwIfAny();
  return true;
}

/**
 * `rm` of a reference containerd does not know: the abandoned creation it names
 * (by name, full ID or unique ID prefix), reclaimed; undefined if there is none.
 */
export async function reclaimByRef(ctx: ContainerContext, ref: string): Promise<string | undefined> {
  if (!PLAIN_REF.test(ref)) return undefined;
  const owner = await ctx.names.owner(ref).catch(() => undefined);
  if (owner !== undefined && (await reclaimAbandonedCreation(ctx, owner))) return owner;
  const ids = (await ctx.host.listStateDirs(ctx.layout.containersDir(ctx.namespace))).filter((id) => id.startsWith(ref));
  if (ids.length !== 1) return undefined;
  return (await reclaimAbandonedCreation(ctx, ids[0]!)) ? ids[0] : undefined;
}

async function containerExists(ctx: ContainerContext, id: string): Promise<boolean> {
  try {
    await ctx.runtime.getContainer(id);
    return true;
  } catch (err) {
    if (isTsnerdError(err, 'not-found')) return false;
    throw err;
  }
}
