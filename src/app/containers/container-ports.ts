/** `port CTR [PRIVATE_PORT[/PROTO]]`: the published ports stored in the container's network-config.json (as nerdctl), with their IPv6 side. */
import { formatPortLines, lookupPublicPort, parsePortQuery } from '../../domain/publish/index.ts';
import type { ContainerContext } from './context.ts';
import { findContainerView, networked } from './container-view.ts';

/** Every mapping as `80/tcp -> 0.0.0.0:8080` (and `[::]:8080` on a network with IPv6, as Docker), or with a private port the `0.0.0.0:8080` of its first match. */
export async function containerPortLines(ctx: ContainerContext, ref: string, privatePort?: string): Promise<string[]> {
  const query = privatePort === undefined ? undefined : parsePortQuery(privatePort);
  const view = await findContainerView(ctx, ref);
  const mappings = await ctx.networking.publishedPorts(networked(view));
  return query ? [lookupPublicPort(mappings, query, view.id)] : formatPortLines(mappings);
}
