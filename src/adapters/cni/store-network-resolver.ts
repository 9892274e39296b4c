/**
 * Resolves a `--net` value to the conflist CNI runs: the network store finds
 * the network (name, full ID or 12-hex short ID, as nerdctl's
 * NetworkByNameOrID) and creates the default `bridge` on first need; the file
 * is then read with the CNI loader, as libcni would.
 */
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
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
  private readonly sync: boolean;

  /** `sync`: the conflist read and checked with synchronous calls (the OCI hook's, as its conf dir listing). */
  constructor(finder: (namespace: string) => NetworkFinder, opts: { sync?: boolean } = {}) {
    this.finder = finder;
    this.sync = opts.sync ?? false;
  }

  async resolve(namespace: string, netRef: string): Promise<ResolvedNetwork> {
    const store = this.finder(namespace);
    const network = netRef === DEFAULT_NETWORK_NAME ? await store.ensureDefaultBridge() : await store.resolve(netRef, 'full-or-short');
    if (network.pseudo || !network.file) throw invalid(`network "${netRef}" cannot be combined with other networks`);
    const list = await loadConfFile(network.file, { sync: this.sync });
    return { name: list.name, list };
  }

  async stillDefined(net: ResolvedNetwork): Promise<boolean> {
    if (net.list.file === undefined) return true;
    if (this.sync) {
      try {
        statSync(net.list.file);
        return true;
      } catch {
        return false;
      }
    }
    return (await stat(net.list.file).catch(() => undefined)) !== undefined;
  }
}
