/**
 * `create` (and the first half of `run`): name reservation, state dir,
 * snapshot and the containerd record, each undone if a later step fails.
 * Paths: `<dataRoot>/<hash>/containers/<ns>/<id>/`, `names/<ns>/<name>`.
 */
import { defaultContainerName, newContainerId, validateContainerName } from '../../domain/container-ref.ts';
import { isTsnerdError } from '../../domain/errors.ts';
import { LABEL_PREFIX, encodeContainerLabels } from '../../domain/labels.ts';
import { validateNetworkFlags, type NetworkFlags } from '../../domain/network-flags.ts';
import { exposedPorts, parsePublishSpecs } from '../../domain/publish/index.ts';
import { buildOciSpec } from '../../domain/oci/spec.ts';
import { resolveUser, userNeedsLookup } from '../../domain/user-spec.ts';
import type { ContainerRecord, RootfsMount } from '../../interfaces/container-runtime.ts';
import type { ContainerContext } from './context.ts';
import { reclaimAbandonedCreation } from './reclaim-creation.ts';
import { UndoStack } from './undo-stack.ts';

export interface CreateContainerInput {
  image: string;
  args: string[];
  name?: string | undefined;
  /** `KEY=VALUE` entries, already parsed from `-e`. */
  env: string[];
  workdir?: string | undefined;
  /** `-u`; overrides the image's User. */
  user?: string | undefined;
  entrypoint?: string | undefined;
  labels: Record<string, string>;
  /** --net and the other networking flags. */
  network: NetworkFlags;
  autoRemove: boolean;
}

export interface CreatedContainer {
  id: string;
  name: string;
  record: ContainerRecord;
  stateDir: string;
  /** The snapshot's mounts, so starting the task needs no second lookup. */
  rootfs: RootfsMount[];
}

/** Creates the container; with an `undo` stack the caller can roll it back later. */
export async function createContainer(
  ctx: ContainerContext,
  input: CreateContainerInput,
  undo = new UndoStack(),
): Promise<CreatedContainer> {
  // What needs neither containerd nor the store is refused before either is touched.
  validateNetworkFlags(input.network);
  parsePublishSpecs(input.network.publish);
  exposedPorts(input.network.expose);
  if (input.name !== undefined) validateContainerName(input.name);
  return undo.guard(async () => {
    const image = await ctx.images.resolve(input.image);
    const id = newContainerId();
    const name = input.name ?? defaultContainerName(image.name, id);
    validateContainerName(name);
    // Each undo is registered before its step runs (each is idempotent): a step
    // that fails halfway is undone too. A kill -9 skips the undo stack; the
    // state dir's creation claim, written first, lets a later `run --name` or
    // `rm` reclaim what was made (reclaim-creation.ts) until containerd holds the record.
    const stateDir = ctx.layout.containerDir(ctx.namespace, id);
    undo.push(async () => {
      await ctx.networking.removed(id, stateDir);
      await ctx.host.removeStateDir(stateDir);
    });
    await ctx.host.createStateDir(stateDir, name);
    ctx.host.faultPoint('state-dir');

    // The snapshot (two containerd calls) and the name and networking files (local, ~15 ms with
    // the hosts lock) need nothing of each other: made side by side, each undo registered before
    // its step starts. A failure waits for the other side to settle before the rollback runs.
    undo.push(() => removeSnapshot(ctx, id));
    const [net, rootfs] = await settleBoth(
      (async () => {
        undo.push(() => ctx.names.release(name, id));
        await acquireName(ctx, name, id);
        ctx.host.faultPoint('name');
        const prepared = await ctx.networking.prepare(
          { id, name, stateDir, flags: input.network, imageExposedPorts: image.config.ExposedPorts ?? {} },
          undo,
        );
        ctx.host.faultPoint('networking');
        return prepared;
      })(),
      ctx.runtime.prepareSnapshot(id, image.chainId),
    );
    ctx.host.faultPoint('snapshot');

    const user = input.user || image.config.User;
    const [passwd, group] = userNeedsLookup(user) ? await ctx.host.readRootfsFiles(rootfs, ['etc/passwd', 'etc/group']) : [];
    const labels: Record<string, string> = {
      ...input.labels,
      ...encodeContainerLabels({ name, namespace: ctx.namespace, stateDir, autoRemove: input.autoRemove }),
      ...net.labels,
    };
    const spec = buildOciSpec({
      id,
      namespace: ctx.namespace,
      image: image.config,
      args: input.args,
      entrypoint: input.entrypoint,
      env: input.env,
      workdir: input.workdir,
      user: resolveUser(user, { passwd, group }),
      hostname: net.hostname,
      domainname: net.domainname,
      network: net.network,
      uts: net.uts,
      hooks: net.hooks,
      extraMounts: net.mounts,
      hostNofile: await ctx.host.nofileLimit(),
      annotations: internalLabels(labels),
    });
    const record = { id, image: image.name, labels, spec, snapshotKey: id };
    undo.push(() => ignoreNotFound(() => ctx.runtime.deleteContainer(id)));
    await ctx.runtime.createContainer(record);
    ctx.host.faultPoint('container');
    await ctx.host.commitCreation(stateDir);
    ctx.host.faultPoint('committed');
    return { id, name, stateDir, rootfs, record: { ...record, createdAt: new Date() } };
  });
}

/** Takes the name; one held by a creation whose process died (kill -9) is reclaimed first. */
async function acquireName(ctx: ContainerContext, name: string, id: string): Promise<void> {
  try {
    await ctx.names.acquire(name, id);
  } catch (err) {
    if (!isTsnerdError(err, 'conflict')) throw err;
    const owner = await ctx.names.owner(name);
    if (owner === undefined || !(await reclaimAbandonedCreation(ctx, owner))) throw err;
    await ctx.names.acquire(name, id);
  }
}

/** Both results once both have settled; else the first one's error (the second's if only it failed). */
async function settleBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

function removeSnapshot(ctx: ContainerContext, id: string): Promise<void> {
  return ignoreNotFound(() => ctx.runtime.removeSnapshot(id));
}

async function ignoreNotFound(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isTsnerdError(err, 'not-found')) throw err;
  }
}

/** Our labels go into the spec's annotations: the OCI hook reads them from the runtime state. */
function internalLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith(LABEL_PREFIX)));
}
