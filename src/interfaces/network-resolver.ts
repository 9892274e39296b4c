import type { NetworkConfigList } from '../domain/cni/net-conf.ts';

export interface ResolvedNetwork {
  /** The network's name (the conflist's `name`). */
  name: string;
  list: NetworkConfigList;
}

/** Finds the CNI network a `--net` string names (name, full ID or short ID) in a namespace. */
export interface NetworkResolver {
  /** Creates the default `bridge` network first when `netRef` is `bridge` and it does not exist. */
  resolve(namespace: string, netRef: string): Promise<ResolvedNetwork>;
  /**
   * Whether the network's definition is still there. Asked under the CNI lock
   * before an ADD: `network rm` deletes a network under that lock, so an ADD
   * either counts as its user or finds it gone (never a bridge, IP or rule of a
   * removed network that nothing would reclaim).
   */
  stillDefined(net: ResolvedNetwork): Promise<boolean>;
}
