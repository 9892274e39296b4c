import { ErrorList, conflict, invalid, isTsnerdError } from '../../domain/errors.ts';
import { isPseudoNetworkName, resolveNetwork } from '../../domain/network/network-lookup.ts';
import { type Network, bridgeLinkName, hostLocalIpam, isDefaultNetwork } from '../../domain/network/network.ts';
import { overlayOf } from '../../domain/overlay/overlay-network.ts';
import type { NetworksDeps } from './deps.ts';
import { NetworkStore } from './network-store.ts';
import { quote } from '../../domain/text.ts';

/** Why a network may not be removed, or undefined if it may. */
async function refusal(deps: NetworksDeps, n: Network, ref: string): Promise<Error | undefined> {
  if (isDefaultNetwork(n)) return invalid(`cannot remove pre-defined network ${n.name}`);
  if (!n.managed) return invalid(`network "${ref}" was not created by tsnerd or nerdctl and cannot be removed`);
  const users = await deps.containers.attachments(n);
  if (users.length > 0) {
    return conflict(`network "${ref}" is in use by container "[${users.map((u) => u.containerId).join(' ')}]"`);
  }
  // Any tool's running containers on this host (nerdctl's too) count, by their attachments in the CNI cache.
  const attached = (await deps.cniUsers?.live(n.name)) ?? [];
  if (attached.length > 0) return conflict(`network "${ref}" is in use by container "[${attached.map(cniUserId).join(' ')}]"`);
  return undefined;
}

/** The container ID part of a CNI container ID (`<namespace>-<id>`, IDs being 64 hex digits). */
function cniUserId(cniId: string): string {
  return /-([0-9a-f]{64})$/.exec(cniId)?.[1] ?? cniId;
}

/** What a stopped container left attached (a crash, a reboot): released, or it would outlive the network. */
async function releaseStale(deps: NetworksDeps, n: Network): Promise<void> {
  await deps.cniUsers?.releaseStale(n.name);
}

/**
 * Deletes the conflist, then the host bridge its containers used (CNI does not delete bridges)
 * and host-local's dir of the network once it holds no allocation (under the CNI lock: no ADD runs).
 */
async function removeOne(deps: NetworksDeps, n: Network, opts: RemoveOptions = {}): Promise<void> {
  const overlay = overlayOf(n);
  if (overlay)
    await (await import('../overlay/leave-overlay.ts')).leaveOverlay(deps, n.name, overlay, { deleteConfig: opts.force ?? false });
  await deps.confDir.remove(n.file!);
  deps.faultPoint?.('network-conf-removed');
  const link = bridgeLinkName(n);
  if (link !== undefined) {
    // Until the record goes (last), `network gc` knows the bridge and its isolation rules as its own.
    await deps.host.deleteLink(link);
    deps.faultPoint?.('network-bridge-deleted');
    await deps.host.removeBridgeRules(link);
    await deps.bridges?.forget(link, n.file!);
  }
  const hostLocal = hostLocalIpam(n);
  if (hostLocal) await deps.host.removeHostLocalDir(n.name, hostLocal.dataDir);
}

/**
 * The CNI lock, then the conf dir's (the hook's order: it may read the conf dir
 * under the CNI lock): no attachment starts between the check for users and
 * the removal, and one that started before is a user.
 */
function underLocks(deps: NetworksDeps, fn: () => Promise<void>): Promise<void> {
  const locked = () => deps.confDir.withLock(fn);
  return deps.cniUsers ? deps.cniUsers.withLock(locked) : locked();
}

export interface RemoveOptions {
  /** `--force`: a network that does not exist is not an error; the last host of an overlay also deletes its config in etcd. */
  force?: boolean;
}

/** `network rm`: removes what it can; returns the refs removed (as typed) and the failures. */
export async function removeNetworks(
  deps: NetworksDeps,
  refs: readonly string[],
  opts: RemoveOptions = {},
): Promise<{ removed: string[]; errors: ErrorList }> {
  const store = new NetworkStore(deps);
  const removed: string[] = [];
  const errors = new ErrorList();
  await underLocks(deps, async () => {
    const networks = await store.listUnlocked();
    for (const ref of refs) {
      await errors.attempt(async () => {
        if (isPseudoNetworkName(ref)) throw invalid(`pseudo network not allowed: ${quote(ref)}`);
        let n: Network;
        try {
          n = resolveNetwork(networks, ref);
        } catch (err) {
          if (opts.force && isTsnerdError(err, 'not-found')) return;
          throw err;
        }
        const refused = await refusal(deps, n, ref);
        if (refused) throw refused;
        await releaseStale(deps, n);
        await removeOne(deps, n, opts);
        removed.push(ref);
      });
    }
  });
  return { removed, errors };
}

/** `network prune`: every unused tsnerd/nerdctl network except the default; returns the names removed. */
export async function pruneNetworks(deps: NetworksDeps): Promise<{ removed: string[]; errors: ErrorList }> {
  const store = new NetworkStore(deps);
  const removed: string[] = [];
  const errors = new ErrorList();
  await underLocks(deps, async () => {
    for (const n of await store.listUnlocked()) {
      if (!n.managed || isDefaultNetwork(n)) continue;
      if (await refusal(deps, n, n.name)) continue;
      await errors.attempt(async () => {
        await releaseStale(deps, n);
        await removeOne(deps, n);
        removed.push(n.name);
      });
    }
  });
  return { removed, errors };
}
