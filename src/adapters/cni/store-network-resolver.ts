/**
 * Resolves a `--net` value to the conflist CNI runs: the network store finds
 * the network (name, full ID or 12-hex short ID, as nerdctl's
 * NetworkByNameOrID) and creates the default `bridge` on first need; the file
 * is then read with the CNI loader, as libcni would.
 */
import { existsSync } from 'node:fs';
import { invalid } from '../../domain/errors.ts';
import { DEFAULT_NETWORK_NAME } from '../../domain/network/constants.ts';
import type { Network } from '../../domain/network/network.ts';
import type { NetworkResolver, ResolvedNetwork } from '../../interfaces/network-resolver.ts';
import { loadConfFile } from './conf-dir.ts';

/** The part of the network store the resolver needs. */
export interface NetworkFinder {
  resolve(ref: string, idMatch: 'full-or-short'): Promise<Network>;
  ensureDefaultBridge(): Promise<Network>;
}

export class StoreNetworkResolver implements NetworkResolver {
  private readonly finder: (namespace: string) => NetworkFinder;

  constructor(finder: (namespace: string) => NetworkFinder) {
    this.finder = finder;
  }

  async resolve(namespace: string, netRef: string): Promise<ResolvedNetwork> {
    const store = this.finder(namespace);
    const network = netRef === DEFAULT_NETWORK_NAME ? await store.ensureDefaultBridge() : await store.resolve(netRef, 'full-or-short');
    if (network.pseudo || !network.file) throw invalid(`network "${netRef}" cannot be combined with other networks`);
    const list = loadConfFile(network.file); // synchronous, as the conf dir's listing
    return { name: list.name, list };
  }

  async stillDefined(net: ResolvedNetwork): Promise<boolean> {
    return net.list.file === undefined || existsSync(net.list.file);
  }
}
