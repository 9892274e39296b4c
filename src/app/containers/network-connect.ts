/** `network connect` and `network disconnect` of a container, by name or ID. */
import type { EndpointOptions } from '../../domain/network/endpoint.ts';
import type { ConnectResult } from '../attach/connect.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView, networked } from './container-view.ts';

export async function connectContainer(
  ctx: ContainerContext,
  network: string,
  ref: string,
  options: EndpointOptions,
): Promise<ConnectResult> {
  const view = await findContainerView(ctx, ref);
  return ctx.networking.connect(networked(view), view.name ?? view.id, network, options);
}

export async function disconnectContainer(ctx: ContainerContext, network: string, ref: string, force: boolean): Promise<void> {
  const view = await findContainerView(ctx, ref);
  await ctx.networking.disconnect(networked(view), view.name ?? view.id, network, force);
}
