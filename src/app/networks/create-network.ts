import { type CreateNetworkInput, parseCreateInput } from '../../domain/network/create-spec.ts';
import type { NetworksDeps } from './deps.ts';
import { NetworkStore } from './network-store.ts';

/** `network create`: validates everything first, then writes the conflist under the exclusive lock. Returns the ID. */
export async function createNetwork(deps: NetworksDeps, input: CreateNetworkInput): Promise<string> {
  const spec = parseCreateInput(input);
  const store = new NetworkStore(deps);
  const network = await deps.confDir.withLock(async () => store.createUnlocked(spec, await store.listUnlocked()));
  return network.id!;
}
