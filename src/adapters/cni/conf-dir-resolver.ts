/**
 * Resolves a `--net` value against the CNI conf dir (top level plus the
 * namespace's subfolder): by name, full nerdctlID or its 12-hex short form,
 * as nerdctl's NetworkByNameOrID.
 */
import { notFound } from '../../domain/errors.ts';
import type { NetworkConfigList } from '../../domain/cni/net-conf.ts';
import type { NetworkResolver, ResolvedNetwork } from '../../ports/network-resolver.ts';
import { loadConfDir } from './conf-dir.ts';

const DEFAULT_NETWORK = 'bridge';

export class ConfDirNetworkResolver implements NetworkResolver {
  private readonly dir: string;
  private readonly ensureDefault: (namespace: string) => Promise<void>;

  constructor(dir: string, ensureDefault: (namespace: string) => Promise<void>) {
    this.dir = dir;
    this.ensureDefault = ensureDefault;
  }

  async resolve(namespace: string, netRef: string): Promise<ResolvedNetwork> {
    let list = await this.find(namespace, netRef);
    if (!list && netRef === DEFAULT_NETWORK) {
      await this.ensureDefault(namespace);
      list = await this.find(namespace, netRef);
    }
    if (!list) throw notFound(`no such network: "${netRef}"`);
    return { name: list.name, list };
  }

  private async find(namespace: string, netRef: string): Promise<NetworkConfigList | undefined> {
    const { lists } = await loadConfDir(this.dir, { namespace });
    return (
      lists.find((l) => l.name === netRef) ??
      lists.find((l) => {
        const id = l.raw['nerdctlID'];
        return typeof id === 'string' && (id === netRef || (netRef.length === 12 && id.startsWith(netRef)));
      })
    );
  }
}
