/**
 * The cheap part of `network gc`, run by createRuntime before its own ADD when
 * the host rebooted or containerd restarted since the last one: the tasks that
 * died with them never got their postStop, and their IPs would still be taken.
 * Without containerd (the hook has no gRPC), an attachment is dead when its
 * netns is gone or it predates the boot; only networks this namespace knows
 * are looked at. The first run ever only remembers the marker.
 */
import type { CniHostState } from '../../interfaces/cni-host-state.ts';
import type { RestartMarker } from '../../interfaces/restart-marker.ts';
import type { AttachDeps } from './deps.ts';
import { releaseCachedAttachment } from './teardown.ts';

export interface AfterRestartDeps extends Pick<AttachDeps, 'cni' | 'removeIpMasqChain' | 'removeHashChains' | 'withCniLock' | 'log'> {
  marker: RestartMarker;
  hostCni: Pick<CniHostState, 'attachmentAlive'>;
  /** Names of the networks a namespace sees (top level and its own dir). */
  knownNetworks(namespace: string): Promise<string[]>;
}

export async function reconcileAfterRestart(deps: AfterRestartDeps, namespace: string): Promise<void> {
  const now = await deps.marker.current();
  const before = await deps.marker.remembered();
  if (now === before) return;
  if (before !== undefined) {
    const known = new Set(await deps.knownNetworks(namespace));
    await deps.withCniLock(async () => {
      // Another hook may have done it while we waited for the lock.
      if ((await deps.marker.remembered()) === now) return;
      for (const a of await deps.cni.getCachedAttachments()) {
        if (!known.has(a.networkName) || (await deps.hostCni.attachmentAlive(a))) continue;
        deps.log(`after restart: DEL ${a.networkName} ${a.ifName} of ${a.containerId}`);
        await releaseCachedAttachment(deps, a).catch((err: unknown) => deps.log(`after restart: ${String(err)}`));
      }
    });
  }
  await deps.marker.remember(now);
}
