import { invalid, notFound } from '../errors.ts';
import { PSEUDO_NETWORKS, type PseudoNetworkName } from './constants.ts';
import { type Network, pseudoNetwork } from './network.ts';
import { quote } from '../text.ts';

export type IdMatch =
  /** Any ID prefix (inspect, rm), as nerdctl's ListNetworksMatch. */
  | 'prefix'
  /** Only the full ID or the 12-hex short ID (--net), as nerdctl's NetworkByNameOrID. */
  | 'full-or-short';

export function isPseudoNetworkName(ref: string): ref is PseudoNetworkName {
  return (PSEUDO_NETWORKS as readonly string[]).includes(ref);
}

/** Exact name first (so a network named like another's ID wins), then by ID. */
export function findNetworks(networks: readonly Network[], ref: string, idMatch: IdMatch = 'prefix'): Network[] {
  if (isPseudoNetworkName(ref)) return [pseudoNetwork(ref)];
  const byName = networks.filter((n) => n.name === ref);
  if (byName.length > 0 || ref === '') return byName;
  return networks.filter((n) => {
    if (n.id === undefined) return false;
    return idMatch === 'prefix' ? n.id.startsWith(ref) : n.id === ref || (ref.length === 12 && n.id.startsWith(ref));
  });
}

export function resolveNetwork(networks: readonly Network[], ref: string, idMatch: IdMatch = 'prefix'): Network {
  const found = findNetworks(networks, ref, idMatch);
  if (found.length === 0) throw notFound(`no network found matching: ${quote(ref)}`);
  if (found.length > 1) throw invalid(`multiple IDs found with provided prefix: ${quote(ref)}`);
  return found[0]!;
}
