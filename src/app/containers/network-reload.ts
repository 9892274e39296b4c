/**
 * `network reload [CONTAINER...] [--all]`: the firewall rules of running containers put back
 * (attach/reload.ts), as `podman network reload`. Each container is reloaded on its own; the
 * failures are reported together after the others were done. Then the DNS rules of the data
 * store's networks (domain/netfilter/dns-input.ts), which are the networks' rather than a
 * container's: all of them, once, whichever containers were named.
 */
import { ErrorList, TsnerdError } from '../../domain/errors.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView, isRunning, listContainerViews, networked, type ContainerView } from './container-view.ts';

/**
 * With `all`, every running container of tsnerd's in the namespace; else the named ones, each of
 * which must be tsnerd's and running. `reloaded` is called with each container's ID once its rules
 * are back (a container on host, none or another's namespace has none to put back: it is listed).
 */
export async function reloadContainerNetworks(
  ctx: ContainerContext,
  refs: readonly string[],
  all: boolean,
  reloaded: (id: string) => void,
): Promise<void> {
  const errors = new ErrorList();
  let views: ContainerView[];
  if (all) {
    views = (await listContainerViews(ctx)).filter((v) => v.owner === 'tsnerd' && isRunning(v.task));
  } else {
    views = [];
    for (const ref of refs) {
      await errors.attempt(async () => {
        const view = await findContainerView(ctx, ref);
        if (view.owner !== 'tsnerd')
          throw new TsnerdError('precondition', `container ${ref} was not made by tsnerd: its tool reloads its rules`);
        if (!isRunning(view.task))
          throw new TsnerdError('precondition', `container ${ref} is not running: its rules are made at its next start`);
        views.push(view);
      });
    }
  }
  for (const view of views) {
    await errors.attempt(async () => {
      await ctx.networking.reload(networked(view));
      reloaded(view.id);
    });
  }
  await errors.attempt(() => ctx.networking.reloadDnsRules());
  errors.throwIfAny();
}
