/**
 * postStop (and stop/kill/rm from the CLI): detach a container from its CNI
 * networks with the same parameters as the ADD, release its ports and drop it
 * from the hosts files. Best effort: every step runs even if one fails.
 */
import { ErrorList } from '../../domain/errors.ts';
import { parseConfList, type NetworkConfigList } from '../../domain/cni/net-conf.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';
import { parseNetworkMode } from '../../domain/network-mode.ts';
import type { HookContainer } from '../../domain/oci/state.ts';
import type { CachedAttachment, RuntimeConf } from '../../interfaces/cni.ts';
import type { AttachDeps } from './deps.ts';
import { effectiveEndpoints } from '../../domain/network/endpoint.ts';
import { cachedRuntimeConf, cniContainerId, runtimeConfFor } from './attachment.ts';
import { masquerades, withoutPluginMasquerade } from '../../domain/netfilter/ipmasq.ts';

export async function teardownContainerNetworks(deps: AttachDeps, c: HookContainer): Promise<void> {
  const lifecycle = await deps.state.readLifecycle(c.stateDir);
  if (lifecycle.create_error) {
    // runc sends postStop after a failed createRuntime; that hook already rolled back.
    await deps.state.writeLifecycle(c.stateDir, { ...lifecycle, create_error: false });
    return;
  }
  const errors = new ErrorList();
  const mode = parseNetworkMode(decodeContainerLabels(c.annotations).networks);
  // Independent steps under their own locks: the hosts files and the port reserver
  // need not wait for the plugins (~40 ms of a postStop). Errors keep this order.
  const steps = [
    ...(mode.kind === 'cni' ? [() => deps.withCniLock(() => detachAll(deps, c, '')), () => deps.reserver.stop(c.stateDir)] : []),
    () => deps.hosts.release(c.namespace, c.id),
    () => deps.dns.leave(c.namespace, c.id),
  ];
  for (const r of await Promise.allSettled(steps.map(async (step) => step()))) if (r.status === 'rejected') errors.add(r.reason);
  errors.throwIfAny();
}

/**
 * DEL of every network the container is attached to; the caller holds the CNI
 * lock. The cached ADD (config, args, capabilities, result) is authoritative,
 * so a network removed or edited since still detaches cleanly; without a cache
 * the networks named in the annotations are used. `netns` is '' when the
 * container's netns is gone.
 */
export async function detachAll(deps: AttachDeps, c: HookContainer, netns: string, options: { rollback?: boolean } = {}): Promise<void> {
  const cniId = cniContainerId(c.namespace, c.id);
  const errors = new ErrorList();
  const cached = await deps.cni.getCachedAttachments(cniId);
  // `cached`: an ADD was begun (the entry is written before its first plugin), so a masquerade chain may exist.
  const targets: { list: NetworkConfigList; rt: RuntimeConf; ips: string[]; cached: boolean }[] = [];
  for (const a of cached) {
    if (!a.config) continue;
    await errors.attempt(() => {
      targets.push({
        list: parseConfList(a.config!),
        // The ADD's own arguments: the same ports, IP and MAC are released.
        rt: cachedRuntimeConf(a, netns),
        ips: (a.result?.ips ?? []).map((ip) => ip.address.split('/')[0]!),
        cached: true,
      });
    });
  }
  // Only needed without a cache entry; a damaged network-config.json must not stop the DEL.
  const portMappings =
    targets.length > 0 ? [] : (await deps.state.readNetworkConfig(c.stateDir).catch(() => ({ portMappings: [] }))).portMappings;
  if (targets.length === 0) {
    const mode = parseNetworkMode(decodeContainerLabels(c.annotations).networks);
    const endpoints =
      mode.kind === 'cni' ? effectiveEndpoints(await deps.state.readEndpoints(c.stateDir).catch(() => undefined), c.annotations) : [];
    for (const endpoint of endpoints) {
      await errors.attempt(async () => {
        const net = await deps.resolver.resolve(c.namespace, endpoint.network);
        targets.push({
          list: net.list,
          rt: runtimeConfFor(c, netns, endpoint, net.list, portMappings),
          ips: [],
          cached: false,
        });
      });
    }
  }
  for (const t of targets) {
    deps.log(`DEL ${t.list.name} ${t.rt.ifName}`);
    // No IPs in the entry: the ADD was cut short inside the bridge plugin; the chain's rules say which.
    // A rollback cannot count on the netns: runc may have killed the container meanwhile (a deadline).
    // The masquerade chain is tsnerd's (the plugins run without ipMasq, domain/netfilter/ipmasq.ts): it
    // goes before the plugins' DEL, whose end removes the cache entry, the only record of the attachment
    // a later DEL (or gc) would find if this process were killed in between. Without a cache entry no ADD began.
    const masq = t.cached && masquerades(t.list);
    if (masq) await errors.attempt(() => deps.removeIpMasqChain(t.list.name, cniId, t.ips));
    const failed = errors.errors.length;
    await errors.attempt(() => delInRollback(deps, masq ? withoutPluginMasquerade(t.list) : t.list, t.rt, options.rollback === true));
    // A DEL that failed may have stopped between a chain's creation and its deletion (portmap's DEL
    // creates its old SNAT chain to flush it): the chains of a container that is going away (netns
    // gone, or a rollback) go; its cache entry stays for another DEL. One that stays keeps them.
    if (errors.errors.length > failed && (netns === '' || options.rollback))
      await errors.attempt(() => deps.removeHashChains([{ network: t.list.name, cniId }]));
  }
  errors.throwIfAny();
}

/**
 * DEL; in a rollback, one that fails in the netns is run again without it. The container
 * is going away (runc kills it after a failed createRuntime), so what is inside its netns
 * goes with it; outside, the plugins still release their IPs and rules, and libcni's cache
 * entry goes once they have. The case: a bridge plugin killed between the veth and its
 * masquerade chain; its DEL then finds the address on the container's interface, and with
 * the plugins' older go-iptables a rule jumping to a chain that does not exist reads as a
 * failure under iptables-nft ("Chain ... does not exist", exit 2), not as already gone. The
 * chain's own cleanup is `removeIpMasqChain`'s (a rollback runs it).
 */
async function delInRollback(
  deps: Pick<AttachDeps, 'cni' | 'log'>,
  list: NetworkConfigList,
  rt: RuntimeConf,
  rollback: boolean,
): Promise<void> {
  try {
    await deps.cni.delNetworkList(list, rt);
  } catch (err) {
    if (!rollback || rt.netns === '') throw err;
    deps.log(`DEL ${list.name} ${rt.ifName} in the netns failed, again without it: ${String(err)}`);
    await deps.cni.delNetworkList(list, { ...rt, netns: '' });
  }
}

/**
 * `stop` and `kill`, once the container has exited: drop the port forwards and free the
 * IPs in its netns, which the caller holds open (`heldNetns`), so the plugins clean up fully
 * and a new container can take the ports at once; its hosts entry goes with the IPs.
 * The task stays, so postStop comes later (at rm or start) and finds nothing
 * left to do.
 */
export async function detachForStop(deps: AttachDeps, c: HookContainer, heldNetns?: string): Promise<void> {
  const mode = parseNetworkMode(decodeContainerLabels(c.annotations).networks);
  if (mode.kind === 'cni') {
    const netns = heldNetns ?? (c.pid > 0 ? `/proc/${c.pid}/ns/net` : '');
    // If the DEL fails, the stop fails; the port holder's watcher, which still holds the exited
    // container's reservation, releases it as any exit.
    await deps.withCniLock(() => detachAll(deps, c, netns));
    const errors = new ErrorList();
    // Its IPs are free for the next container now: peers must stop resolving its names to them.
    await errors.attempt(() => deps.hosts.release(c.namespace, c.id));
    await errors.attempt(() => deps.dns.leave(c.namespace, c.id));
    errors.throwIfAny();
  }
  // Recorded only now that it is true: its ports count as free and its networks as unused.
  const lifecycle = await deps.state.readLifecycle(c.stateDir).catch(() => ({}));
  await deps.state.writeLifecycle(c.stateDir, { ...lifecycle, stopped_at: new Date().toISOString() });
  // The reservation last: until it goes, the port holder's watcher of the exited init does all of
  // the above again (its `exited` event) for a stop killed midway.
  if (mode.kind === 'cni') await deps.reserver.stop(c.stateDir);
}

/**
 * A container whose task went away without a postStop (a reboot, a crash, a
 * tasks.Create deadline): after any hook still holding the CNI lock is done,
 * DEL of each attachment the result cache holds, without netns; then its port
 * reservation and hosts entry. Works from the cache alone: the state dir may
 * be damaged or gone.
 */
export async function releaseWithoutTask(deps: AttachDeps, c: Pick<HookContainer, 'id' | 'namespace' | 'stateDir'>): Promise<void> {
  const errors = new ErrorList();
  await errors.attempt(() => releaseCached(deps, cniContainerId(c.namespace, c.id), '', { waitForLock: true }));
  await errors.attempt(() => deps.reserver.stop(c.stateDir));
  await errors.attempt(() => deps.hosts.release(c.namespace, c.id));
  await errors.attempt(() => deps.dns.leave(c.namespace, c.id));
  errors.throwIfAny();
}

/**
 * Under the CNI lock, DEL of every attachment the result cache holds for a
 * CNI container ID, replaying the ADD (`netns` '' when it is gone). For
 * containers whose other records are not ours (nerdctl's), this is all
 * tsnerd does to their networking.
 */
export async function releaseCached(
  deps: AttachDeps,
  cniId: string,
  netns: string,
  options: { waitForLock?: boolean } = {},
): Promise<void> {
  const errors = new ErrorList();
  // Nothing cached (the usual rm): no need to wait for the host-wide lock, unless a hook may hold it.
  if (!options.waitForLock && (await deps.cni.getCachedAttachments(cniId)).length === 0) return;
  await deps.withCniLock(async () => {
    for (const a of await deps.cni.getCachedAttachments(cniId)) {
      deps.log(`DEL ${a.networkName} ${a.ifName} (from the cache)`);
      await errors.attempt(() => releaseCachedAttachment(deps, a, netns));
    }
  });
  errors.throwIfAny();
}

/**
 * DEL of one cached attachment with the ADD's config, args and capabilities;
 * without netns (it is gone), also the masquerade chain the bridge plugin
 * leaves in that case. Without a config in the entry there is nothing to run.
 */
export async function releaseCachedAttachment(
  deps: Pick<AttachDeps, 'cni' | 'removeIpMasqChain' | 'removeHashChains'>,
  a: CachedAttachment,
  netns = '',
): Promise<void> {
  if (!a.config) return;
  const list = parseConfList(a.config);
  const ips = (a.result?.ips ?? []).map((ip) => ip.address.split('/')[0]!);
  // No IPs: the ADD was cut short (the entry is written before its first plugin); the chain's rules name them.
  // Before the plugins' DEL, whose end removes the cache entry: killed between the two, the entry is left for the next DEL.
  if (masquerades(list)) await deps.removeIpMasqChain(list.name, a.containerId, ips);
  try {
    await deps.cni.delNetworkList(withoutPluginMasquerade(list), { containerId: a.containerId, netns, ifName: a.ifName });
  } catch (err) {
    // As in detachAll: the chains a failed DEL left of a container whose netns is gone go; the entry stays for another DEL.
    if (netns === '') await deps.removeHashChains([{ network: list.name, cniId: a.containerId }]).catch(() => undefined);
    throw err;
  }
}

/**
 * The hook's `exited` event, run by the port holder when a watched container's
 * init process is gone while its task still exists (it exited on its own; no
 * stop, rm or postStop released it): Docker frees the ports and addresses at
 * once, so DEL (netns gone), leave the peers' hosts files and DNS records, mark it stopped (the
 * CLI's port check then skips it) and release its ports, all under the CNI lock
 * and only while the reservation is still this pid's (a `start` meanwhile made
 * a new one). postStop, at rm or start, finds nothing left to do.
 */
export async function releaseExited(deps: AttachDeps, c: HookContainer): Promise<void> {
  const mode = parseNetworkMode(decodeContainerLabels(c.annotations).networks);
  await deps.withCniLock(async () => {
    if (!(await deps.reserver.holds(c.stateDir, c.pid))) {
      deps.log(`pid ${c.pid} is no longer this container's reservation: nothing to do`);
      return;
    }
    const errors = new ErrorList();
    if (mode.kind === 'cni') await errors.attempt(() => detachAll(deps, c, ''));
    deps.faultPoint('exited-deleted');
    await errors.attempt(() => deps.hosts.release(c.namespace, c.id));
    await errors.attempt(() => deps.dns.leave(c.namespace, c.id));
    await errors.attempt(async () => {
      const lifecycle = await deps.state.readLifecycle(c.stateDir);
      await deps.state.writeLifecycle(c.stateDir, { ...lifecycle, stopped_at: new Date().toISOString() });
    });
    await errors.attempt(() => deps.reserver.stop(c.stateDir, { pid: c.pid }));
    errors.throwIfAny();
  });
}
