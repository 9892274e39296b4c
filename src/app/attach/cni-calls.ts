/**
 * ADD and DEL of one attachment, the bridge plugin's masquerade chain made and removed by
 * tsnerd instead of the plugin (domain/netfilter/ipmasq.ts): one iptables-restore per address
 * family where the plugin's ADD runs iptables ~9 times.
 */
import { masquerades, withoutPluginMasquerade } from '../../domain/netfilter/ipmasq.ts';
import type { NetworkConfigList } from '../../domain/cni/net-conf.ts';
import type { CniResult, RuntimeConf } from '../../interfaces/cni.ts';
import type { AttachDeps } from './deps.ts';

/**
 * ADD of `list`; its masquerade chain once the plugins are done. A failure of either leaves
 * the result cache entry (written before the first plugin), whose DEL removes both.
 */
export async function addAttachment(
  deps: Pick<AttachDeps, 'cni' | 'addIpMasqChain'> & Partial<Pick<AttachDeps, 'faultPoint'>>,
  list: NetworkConfigList,
  rt: RuntimeConf,
): Promise<CniResult> {
  if (!masquerades(list)) return deps.cni.addNetworkList(list, rt);
  const result = await deps.cni.addNetworkList(withoutPluginMasquerade(list), rt);
  deps.faultPoint?.('masq-adding'); // the plugins done and cached, the chain not made yet
  await deps.addIpMasqChain(
    list.name,
    rt.containerId,
    result.ips.map((ip) => ip.address),
  );
  deps.faultPoint?.('masq-added');
  return result;
}

/**
 * DEL of `list` (the cached ADD's): its masquerade chain first, for the cached result's addresses
 * (none: the chain's own rules name them), then the plugins. In that order, a DEL killed midway
 * leaves the cache entry, which names the attachment for the next DEL (releaseUnrecorded, postStop,
 * `network gc`); the other order lost the chain with the entry, for good (a disconnect killed there
 * left it and its POSTROUTING jump after `rm -f`). A DEL that fails puts the chain back: the
 * attachment stays as it was, for the next DEL.
 */
export async function delAttachment(
  deps: Pick<AttachDeps, 'cni' | 'removeIpMasqChain'> & Partial<Pick<AttachDeps, 'addIpMasqChain' | 'faultPoint'>>,
  list: NetworkConfigList,
  rt: RuntimeConf,
): Promise<void> {
  if (!masquerades(list)) return deps.cni.delNetworkList(list, rt);
  const cached = await deps.cni.getCachedResult(list, rt).catch(() => undefined);
  const addresses = (cached?.ips ?? []).map((ip) => ip.address);
  await deps.removeIpMasqChain(
    list.name,
    rt.containerId,
    addresses.map((a) => a.split('/')[0]!),
  );
  deps.faultPoint?.('masq-removed'); // the chain gone, the plugins' DEL and the cache entry's removal to come
  try {
    await deps.cni.delNetworkList(withoutPluginMasquerade(list), rt);
  } catch (err) {
    if (addresses.length > 0) await deps.addIpMasqChain?.(list.name, rt.containerId, addresses).catch(() => undefined);
    throw err;
  }
}
