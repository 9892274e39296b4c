import { type NetworkListRow, listRows } from '../../domain/network/list-view.ts';
import type { NetworksDeps } from './deps.ts';
import { NetworkStore } from './network-store.ts';

/** `network ls`: never creates the default network, as nerdctl. */
export async function listNetworks(
  deps: NetworksDeps,
  filters: readonly string[],
  opts: { noTrunc?: boolean } = {},
): Promise<NetworkListRow[]> {
  return listRows(await new NetworkStore(deps).list(), filters, opts);
}
