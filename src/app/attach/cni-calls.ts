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
  deps: Pick<AttachDeps, 'cni' | 'addIpMasqChain'>,
  list: NetworkConfigList,
  rt: RuntimeConf,
): Promise<CniResult> {
  if (!masquerades(list)) return deps.cni.addNetworkList(list, rt);
  const result = await deps.cni.addNetworkList(withoutPluginMasquerade(list), rt);
  await deps.addIpMasqChain(
    list.name,
    rt.containerId,
    result.ips.map((ip) => ip.address),
  );
  return result;
}

/**
 * DEL of `list` (the cached ADD's), then its masquerade chain, for the cached result's addresses
 * (none: the chain's own rules name them). A DEL that fails leaves both for the next DEL: the
 * attachment stays as it was.
 */
export async function delAttachment(
  deps: Pick<AttachDeps, 'cni' | 'removeIpMasqChain'>,
  list: NetworkConfigList,
  rt: RuntimeConf,
): Promise<void> {
  if (!masquerades(list)) return deps.cni.delNetworkList(list, rt);
  const cached = await deps.cni.getCachedResult(list, rt).catch(() => undefined);
  await deps.cni.delNetworkList(withoutPluginMasquerade(list), rt);
  await deps.removeIpMasqChain(
    list.name,
    rt.containerId,
    (cached?.ips ?? []).map((ip) => ip.address.split('/')[0]!),
  );
}
