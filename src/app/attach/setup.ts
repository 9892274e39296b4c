/**
 * createRuntime: attach a starting container to its CNI networks, then publish
 * it in the hosts files of every container it shares a network with.
 */
import { ErrorList, TsnerdError } from '../../domain/errors.ts';
import type { HookContainer } from '../../domain/oci/state.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';
import { parseNetworkMode } from '../../domain/network-mode.ts';
import type { HostsMeta } from '../../domain/dns/hosts-file.ts';
import type { CniResult } from '../../interfaces/cni.ts';
import { OVERLAY_CONFLIST_KEY } from '../../domain/overlay/overlay-network.ts';
import type { ResolvedNetwork } from '../../interfaces/network-resolver.ts';
import type { AttachDeps } from './deps.ts';
import { bridgeLinks, cniContainerId, runtimeConfFor } from './attachment.ts';
import { detachAll } from './teardown.ts';
import { dnsJoinFor, resolverAddressesFor } from './dns.ts';

/**
 * `finish` is the hook's last step (its lifecycle record): if it fails, or the
 * hosts join does, what was attached is detached again before the error goes
 * to runc, as the postStop after a failed createRuntime does nothing.
 */
/** What the hook keeps of the CLI's deadline for its own rollback (DEL of every plugin, then exit). */
const DEADLINE_MARGIN_MS = 3_000;

export async function setupContainerNetworks(deps: AttachDeps, c: HookContainer, finish: () => Promise<void> = async () => {}): Promise<void> {
  const netRefs = decodeContainerLabels(c.annotations).networks;
  const mode = parseNetworkMode(netRefs);
  // host, none, container: and ns: need no CNI; their files were written at create.
  if (mode.kind !== 'cni') return finish();

  const netns = `/proc/${c.pid}/ns/net`;
  const cniId = cniContainerId(c.namespace, c.id);
  const [{ portMappings }, { start_deadline: deadline }] = await Promise.all([
    deps.state.readNetworkConfig(c.stateDir),
    deps.state.readLifecycle(c.stateDir),
  ]);
  // Past the CLI's deadline nobody waits for this attachment: roll it back (with time to spare for that).
  const assertInTime = (): void => {
    if (deadline !== undefined && Date.now() > deadline - DEADLINE_MARGIN_MS) {
      throw new TsnerdError('timeout', 'the container start ran past its deadline; its networks were detached again');
    }
  };

  // The port holder binds the ports and watches the container's pid (so an exit on
  // its own frees the network); it needs no CNI lock: it works while we wait for the
  // lock and run ADD (and starts a holder if none runs); if it cannot, ADD is rolled back.
  const reserving = deps.reserver.start(portMappings, c.stateDir, { id: c.id, pid: c.pid, annotations: c.annotations });
  reserving.catch(() => undefined); // awaited under the lock; not unhandled meanwhile
  // Reading the networks and the result cache needs no lock: done while flock(1) starts.
  const reading = Promise.all([
    Promise.all(mode.networks.map((ref) => deps.resolver.resolve(c.namespace, ref))),
    deps.cni.getCachedAttachments(cniId),
  ]);
  reading.catch(() => undefined); // awaited under the lock
  let results: Record<string, CniResult>;
  let joined: ResolvedNetwork[] = [];
  try {
    results = await deps.withCniLock(async () => {
      deps.log('CNI lock taken');
      const [networks, cached] = await reading;
      // An overlay network needs its host agent (VXLAN device, lease): started here if it is not running (after a reboot, a kill).
      for (const net of networks) if (net.list.raw[OVERLAY_CONFLIST_KEY] !== undefined) await deps.ensureOverlayAgent?.(c.namespace, net.name);
      joined = networks;
      // Left over from a run that never got its postStop (daemon or host crash):
      // the IPs are still allocated and ADD would fail on them.
      if (cached.length > 0) {
        deps.log(`removing stale attachments of ${cniId}`);
        await detachAll(deps, c, '').catch((err: unknown) => deps.log(`stale cleanup: ${String(err)}`));
      }
      for (const link of new Set(networks.flatMap((n) => bridgeLinks(n.list)))) await deps.removeDeadBridge(link);
      const added: Record<string, CniResult> = {};
      try {
        for (const [index, net] of networks.entries()) {
          assertInTime();
          const rt = runtimeConfFor({ namespace: c.namespace, id: c.id, netns, index, annotations: c.annotations, portMappings });
          deps.log(`ADD ${net.name} ${rt.ifName}`);
          added[mode.networks[index]!] = await deps.cni.addNetworkList(net.list, rt);
        }
        await reserving;
        assertInTime();
      } catch (err) {
        deps.log(`ADD failed, rolling back: ${String(err)}`);
        await detachAll(deps, c, netns, { rollback: true }).catch((e: unknown) => deps.log(`rollback: ${String(e)}`));
        throw err;
      }
      return added;
    });
  } catch (err) {
    await reserving.catch(() => undefined); // a reservation still in flight would outlive the stop
    await deps.reserver.stop(c.stateDir).catch(() => undefined);
    throw err;
  }

  deps.log('ADD done');
  try {
    deps.faultPoint('hook-added');
    await deps.hosts.acquire(c.namespace, hostsMeta(c, results));
    deps.log('hosts files updated');
    await joinDns(deps, c, mode.networks, joined, results);
    deps.faultPoint('hook-joined');
    await finish();
  } catch (err) {
    deps.log(`failed after ADD, rolling back: ${String(err)}`);
    const undo = new ErrorList();
    await undo.attempt(() => deps.hosts.release(c.namespace, c.id));
    await undo.attempt(() => deps.dns.leave(c.namespace, c.id));
    await undo.attempt(() => deps.withCniLock(() => detachAll(deps, c, netns, { rollback: true })));
    await undo.attempt(() => deps.reserver.stop(c.stateDir));
    for (const e of undo.errors) deps.log(`rollback: ${e.message}`);
    throw err;
  }
}

/** Names stay resolvable through /etc/hosts without the resolver: a DNS failure does not fail the start. */
async function joinDns(
  deps: AttachDeps,
  c: HookContainer,
  refs: readonly string[],
  networks: readonly ResolvedNetwork[],
  results: Record<string, CniResult>,
): Promise<void> {
  const dns = dnsJoinFor(c, refs, networks, results);
  if (dns.endpoints.length === 0) return;
  try {
    for (const { link, cidr } of resolverAddressesFor(networks)) await deps.addBridgeAddress(link, cidr);
    await deps.dns.join(dns);
    deps.log('DNS records updated');
  } catch (err) {
    deps.log(`DNS: ${String(err)}`);
  }
}

export function hostsMeta(c: HookContainer, networks: HostsMeta['Networks']): HostsMeta {
  const labels = decodeContainerLabels(c.annotations);
  const extraHosts: Record<string, string> = {};
  for (const entry of labels.extraHosts) {
    const sep = entry.indexOf(':');
    extraHosts[entry.slice(0, sep)] = entry.slice(sep + 1);
  }
  return {
    ID: c.id,
    Networks: networks,
    Hostname: labels.hostname ?? '',
    Domainname: labels.domainname ?? '',
    ExtraHosts: extraHosts,
    Name: labels.name ?? '',
  };
}
