/**
 * `network reload`: a running container's firewall rules put back as its ADD made them, after
 * something flushed them (`iptables -F`, `nft flush ruleset`, a firewall service's reload), as
 * `podman network reload` does. Its interfaces, addresses, leases, ports held and DNS records are
 * not touched: only what lives in netfilter, which is what a flush loses.
 *
 * From each cached attachment (the ADD's own conflist, args, capabilities and result): the
 * bridge plugin's masquerade chain (ipMasq) made again by tsnerd, since the bridge plugin's ADD
 * would create the veth again; then ADD again of portmap and firewall with the cached result as
 * prevResult: both find their rules before adding them, so running them on intact rules changes
 * nothing. Under the CNI lock, as every plugin call.
 */
import { ErrorList } from '../../domain/errors.ts';
import { parseConfList } from '../../domain/cni/net-conf.ts';
import type { AttachDeps } from './deps.ts';
import { cniContainerId } from './attachment.ts';
import { masquerades } from '../../domain/netfilter/ipmasq.ts';

/** The chained plugins whose ADD is safe to run again on a live attachment. */
export const REAPPLIED_PLUGINS = ['portmap', 'firewall'] as const;

/** The networks whose rules were put back, one per cached attachment of the container (its pid's netns). */
export async function reloadAttachments(
  deps: Pick<AttachDeps, 'cni' | 'withCniLock' | 'ensureIpMasqChain' | 'log' | 'faultPoint'>,
  c: { namespace: string; id: string; pid: number },
): Promise<string[]> {
  const cniId = cniContainerId(c.namespace, c.id);
  const errors = new ErrorList();
  const reloaded: string[] = [];
  await deps.withCniLock(async () => {
    for (const a of await deps.cni.getCachedAttachments(cniId)) {
      if (!a.config || !a.result) continue; // an ADD cut short: nothing it made is the container's yet
      await errors.attempt(async () => {
        const list = parseConfList(a.config!);
        if (masquerades(list))
          await deps.ensureIpMasqChain(
            list.name,
            a.containerId,
            a.result!.ips.map((ip) => ip.address),
          );
        deps.faultPoint('reload-masq');
        await deps.cni.reapplyNetworkList(
          list,
          { containerId: a.containerId, ifName: a.ifName, netns: `/proc/${c.pid}/ns/net` },
          REAPPLIED_PLUGINS,
        );
        deps.log(`reloaded ${a.networkName} ${a.ifName}`);
        reloaded.push(a.networkName);
      });
    }
  });
  errors.throwIfAny();
  return reloaded;
}
