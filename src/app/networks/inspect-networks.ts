import { ErrorList } from '../../domain/errors.ts';
import { DEFAULT_NETWORK_NAME } from '../../domain/network/constants.ts';
import { type DockerNetwork, toDockerNetwork } from '../../domain/network/inspect-view.ts';
import { findNetworks, resolveNetwork } from '../../domain/network/network-lookup.ts';
import type { Network } from '../../domain/network/network.ts';
import { OVERLAY_DRIVER, overlayOf } from '../../domain/overlay/overlay-network.ts';
import type { NetworksDeps } from './deps.ts';
import { NetworkStore } from './network-store.ts';

/**
 * `network inspect`: the networks that resolved, and the failures of the
 * others. Asking for `bridge` creates the default network if it does not exist
 * yet (nerdctl only creates it on the first container; see docs/compat.md).
 */
export async function inspectNetworks(
  deps: NetworksDeps,
  refs: readonly string[],
): Promise<{ networks: DockerNetwork[]; errors: ErrorList }> {
  const store = new NetworkStore(deps);
  let all = await store.list();
  if (refs.includes(DEFAULT_NETWORK_NAME) && findNetworks(all, DEFAULT_NETWORK_NAME).length === 0) {
    await store.ensureDefaultBridge();
    all = await store.list();
  }
  const errors = new ErrorList();
  const found: Network[] = [];
  for (const ref of refs) await errors.attempt(() => found.push(resolveNetwork(all, ref)));
  const networks: DockerNetwork[] = [];
  for (const n of found) {
    const view = toDockerNetwork(n, n.pseudo ? [] : await deps.containers.attachments(n));
    const overlay = overlayOf(n);
    if (overlay) {
      const { inspectOverlay } = await import('../overlay/inspect-overlay.ts');
      networks.push({ ...view, Scope: 'global', Driver: OVERLAY_DRIVER, Overlay: await inspectOverlay(deps, n.name, overlay) });
    } else {
      networks.push(view);
    }
  }
  return { networks, errors };
}
