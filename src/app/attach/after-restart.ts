/**
 * The cheap part of `network gc`, run by createRuntime before its own ADD when
 * the host rebooted or containerd restarted since the last one: the tasks that
 * died with them never got their postStop, and their IPs would still be taken.
 * Without containerd (the hook has no gRPC), an attachment is dead when its
 * netns is gone or it predates the boot; only networks this namespace knows
 * are looked at. The first run ever only remembers the marker.
 */
import { hostLocalIpam, type Network } from '../../domain/network/network.ts';
import type { CniHostState } from '../../interfaces/cni-host-state.ts';
import type { RestartMarker } from '../../interfaces/restart-marker.ts';
import type { AttachDeps } from './deps.ts';
import { releaseCachedAttachment } from './teardown.ts';
import { staleFirewallListings } from './stale-firewall.ts';

export interface AfterRestartDeps extends Pick<AttachDeps, 'cni' | 'removeIpMasqChain' | 'removeHashChains' | 'withCniLock' | 'log'> {
  marker: RestartMarker;
  hostCni: Pick<CniHostState, 'attachmentAlive' | 'allAllocations' | 'firewallRules' | 'removeFirewallRules'>;
  /** The networks a namespace sees (top level and its own dir). */
  knownNetworks(namespace: string): Promise<Network[]>;
}

export async function reconcileAfterRestart(deps: AfterRestartDeps, namespace: string): Promise<void> {
  const now = await deps.marker.current();
  const before = await deps.marker.remembered();
  if (now === before) return;
  if (before !== undefined) {
    const networks = await deps.knownNetworks(namespace);
    const known = new Set(networks.map((n) => n.name));
    await deps.withCniLock(async () => {
      // Another hook may have done it while we waited for the lock.
      if ((await deps.marker.remembered()) === now) return;
      for (const a of await deps.cni.getCachedAttachments()) {
        if (!known.has(a.networkName) || (await deps.hostCni.attachmentAlive(a))) continue;
        deps.log(`after restart: DEL ${a.networkName} ${a.ifName} of ${a.containerId}`);
        await releaseCachedAttachment(deps, a).catch((err: unknown) => deps.log(`after restart: ${String(err)}`));
      }
      await removeStaleFirewallRules(deps, networks).catch((err: unknown) => deps.log(`after restart: ${String(err)}`));
    });
  }
  await deps.marker.remember(now);
}

/**
 * The firewall plugin's rules in CNI-FORWARD of addresses in these networks' subnets that nothing
 * holds any more, and second copies (domain/netfilter/firewall-stale.ts; `network gc` does the
 * same with containerd's verdict on each owner). Without containerd, every cache entry left after
 * the DELs above and every host-local lease holds its address, whoever's it is: only rules no
 * record names at all go (a DEL that failed before the cache entry went, rules restored from a
 * saved copy at boot). One listing per family, once per boot or containerd restart.
 */
async function removeStaleFirewallRules(deps: AfterRestartDeps, networks: readonly Network[]): Promise<void> {
  const dataDirs = networks.map((n) => hostLocalIpam(n)?.dataDir);
  for (const { tool, stale } of await staleFirewallListings(deps, networks, dataDirs, () => true)) {
    for (const s of stale) {
      deps.log(`after restart: ${s.rules.length} ${tool} CNI-FORWARD rules of ${s.address} (${s.held ? 'second copies' : 'no holder'})`);
      await deps.hostCni.removeFirewallRules(tool, s.rules);
    }
  }
}
