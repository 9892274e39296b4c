/**
 * createRuntime: attach a starting container to its CNI networks, then publish
 * it in the hosts files of every container it shares a network with.
 */
import { ErrorList, TsnerdError, isTsnerdError, notFound } from '../../domain/errors.ts';
import { quote } from '../../domain/text.ts';
import type { HookContainer } from '../../domain/oci/state.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';
import { parseNetworkMode } from '../../domain/network-mode.ts';
import type { CniResult } from '../../interfaces/cni.ts';
import { OVERLAY_CONFLIST_KEY } from '../../domain/overlay/overlay-network.ts';
import type { ResolvedNetwork } from '../../interfaces/network-resolver.ts';
import type { DnsJoined } from '../../interfaces/dns-registry.ts';
import type { AttachDeps } from './deps.ts';
import { effectiveEndpoints, type Endpoint } from '../../domain/network/endpoint.ts';
import { bridgeLinks, cniContainerId, heldPortMappings, hostsMeta, runtimeConfFor } from './attachment.ts';
import { detachAll } from './teardown.ts';
import { addAttachment } from './cni-calls.ts';
import { anyDnsNetwork, dnsJoinFor, resolverAddressesFor } from './dns.ts';

/**
 * `finish` is the hook's last step (its lifecycle record): if it fails, or the
 * hosts join does, what was attached is detached again before the error goes
 * to runc, as the postStop after a failed createRuntime does nothing.
 */
/** What the hook keeps of the CLI's deadline for its own rollback (DEL of every plugin, then exit). */
const DEADLINE_MARGIN_MS = 3_000;

export async function setupContainerNetworks(
  deps: AttachDeps,
  c: HookContainer,
  finish: () => Promise<void> = async () => {},
  abandoned: () => boolean = () => false,
): Promise<void> {
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
  // Nor once the hook's caller is gone (the hook server's client killed): runc has failed the hook and
  // sent postStop, which may have run already; what is done from then on is undone here.
  const assertWanted = (): void => {
    if (abandoned())
      throw new TsnerdError('unavailable', "the hook's caller was killed before the hook finished; its networks were detached again");
  };
  const assertInTime = (): void => {
    assertWanted();
    if (deadline !== undefined && Date.now() > deadline - DEADLINE_MARGIN_MS) {
      throw new TsnerdError('timeout', 'the container start ran past its deadline; its networks were detached again');
    }
  };
  const readEndpoints = async () => effectiveEndpoints(await deps.state.readEndpoints(c.stateDir), c.annotations);
  const endpointsBefore = await readEndpoints();

  // The port holder binds the ports and watches the container's pid (so an exit on
  // its own frees the network); it needs no CNI lock: it works while we wait for the
  // lock and run ADD (and starts a holder if none runs); if it cannot, ADD is rolled back.
  // Reading the networks and the result cache needs no lock: done while flock(1) starts.
  const resolveAll = (endpoints: readonly Endpoint[]) => Promise.all(endpoints.map((e) => deps.resolver.resolve(c.namespace, e.network)));
  const resolving = resolveAll(endpointsBefore);
  // With ports, the holder waits for the networks (a file read): on IPv6 it binds the `::` side too.
  const reserving = (
    portMappings.length === 0
      ? Promise.resolve(portMappings)
      : resolving.then((nets) => heldPortMappings(endpointsBefore, nets, portMappings))
  ).then((held) => deps.reserver.start(held, c.stateDir, { id: c.id, pid: c.pid, annotations: c.annotations }));
  reserving.catch(() => undefined); // awaited under the lock; not unhandled meanwhile
  const reading = Promise.all([resolving, deps.cni.getCachedAttachments(cniId)]);
  reading.catch(() => undefined); // awaited under the lock
  // Once the bridges' shared objects exist, other containers' ADDs may run beside this one (domain/cni/shared-add.ts).
  const sharing = reading.then(
    async ([resolved, cached]) =>
      cached.length === 0 &&
      ((await deps.sharedAdd?.allows(
        resolved.map((n) => n.list),
        portMappings.length > 0,
      )) ??
        false),
  );
  let results: { added: Record<string, CniResult>; endpoints: Endpoint[] };
  let joined: ResolvedNetwork[] = [];
  /** The DNS rules the join makes (the network's first container): the rollback removes them. */
  const rulesMade: DnsJoined = { rulesMade: [] };
  try {
    const attach = async (shared: boolean): Promise<{ added: Record<string, CniResult>; endpoints: Endpoint[] }> => {
      deps.log(shared ? 'CNI lock taken (shared)' : 'CNI lock taken');
      const [resolved, cached] = await reading;
      // `network connect`/`disconnect` of a created or stopped container change the record under this lock.
      const endpoints = await readEndpoints();
      const unchanged = JSON.stringify(endpoints) === JSON.stringify(endpointsBefore);
      if (shared && !unchanged) throw RETRY_ALONE; // networks the shared decision did not look at
      const networks = unchanged ? resolved : await resolveAll(endpoints);
      await assertStillDefined(deps, networks);
      // An overlay network needs its host agent (VXLAN device, lease): started here if it is not running (after a reboot, a kill).
      for (const net of networks)
        if (net.list.raw[OVERLAY_CONFLIST_KEY] !== undefined) await deps.ensureOverlayAgent?.(c.namespace, net.name);
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
          const endpoint = endpoints[index]!;
          const rt = runtimeConfFor(c, netns, endpoint, net.list, portMappings);
          deps.log(`ADD ${net.name} ${rt.ifName}`);
          const adding = addAttachment(deps, net.list, rt);
          // With a DNS network, the join after ADD checks its gateway's port: what that needs is set up
          // while the first plugin runs (the event loop waits for it), not before the lock or after ADD.
          if (index === 0 && anyDnsNetwork(networks)) deps.dns.prepareJoin?.();
          added[endpoint.network] = await adding;
        }
        await reserving;
        assertInTime();
        // Alone under the lock: the bridges' shared objects exist now, later ADDs may share.
        if (!shared)
          await deps.sharedAdd
            ?.remember(
              networks.map((n) => n.list),
              portMappings.length > 0,
            )
            .catch((e: unknown) => deps.log(`shared ADD: ${String(e)}`));
      } catch (err) {
        deps.log(`ADD failed, rolling back: ${String(err)}`);
        await detachAll(deps, c, netns, { rollback: true }).catch((e: unknown) => deps.log(`rollback: ${String(e)}`));
        throw err;
      }
      return { added, endpoints };
    };
    const shared = await sharing.catch(() => false);
    deps.faultPoint('hook-resolved'); // the networks read, the CNI lock not taken yet (a network rm may run here)
    results = await lockedAdd(deps, attach, shared);
  } catch (err) {
    await reserving.catch(() => undefined); // a reservation still in flight would outlive the stop
    await deps.reserver.stop(c.stateDir).catch(() => undefined);
    throw err;
  }

  deps.log('ADD done');
  try {
    deps.faultPoint('hook-added');
    assertWanted();
    // The hosts files and the DNS records have locks of their own: both joins at once (concurrent starts queue on each).
    let dnsRefused: unknown;
    const dnsJoined = joinDns(deps, c, results.endpoints, joined, results.added, rulesMade).catch((e: unknown) => {
      if (isTsnerdError(e, 'conflict')) dnsRefused = e;
      else deps.log(`DNS: ${String(e)}`);
    });
    try {
      await deps.hosts.acquire(c.namespace, hostsMeta(c, results.added, results.endpoints));
      deps.log('hosts files updated');
    } finally {
      await dnsJoined; // settled before any rollback leaves DNS
    }
    if (dnsRefused !== undefined) throw dnsRefused;
    deps.faultPoint('hook-joined');
    // Joins that ended after the caller died may have come after postStop's leave: undone below.
    assertWanted();
    await finish();
  } catch (err) {
    deps.log(`failed after ADD, rolling back: ${String(err)}`);
    const undo = new ErrorList();
    await undo.attempt(() => deps.hosts.release(c.namespace, c.id));
    await undo.attempt(() => deps.dns.leave(c.namespace, c.id, rulesMade));
    await undo.attempt(() => deps.withCniLock(() => detachAll(deps, c, netns, { rollback: true })));
    await undo.attempt(() => deps.reserver.stop(c.stateDir));
    for (const e of undo.errors) deps.log(`rollback: ${e.message}`);
    throw err;
  }
}

/** Under the CNI lock, before an ADD: a network removed since it was resolved is not attached to (network rm holds that lock). */
export async function assertStillDefined(deps: Pick<AttachDeps, 'resolver'>, networks: readonly ResolvedNetwork[]): Promise<void> {
  for (const net of networks) {
    if (!(await deps.resolver.stillDefined(net)))
      throw notFound(`network ${quote(net.name)} not found: it was removed while the container was starting`);
  }
}

/** Thrown by an attachment under the shared lock that needs it exclusive after all (before it changed anything). */
const RETRY_ALONE = new TsnerdError('conflict', 'the attachment needs the CNI lock alone');

/**
 * How the reference plugins fail when two of them create the same shared object
 * at once ("Chain already exists", "File exists", EBUSY of a netlink or nftables change).
 */
const RACE_FAILURE = /already exists|file exists|resource busy|device or resource busy|temporarily unavailable/i;

/**
 * Runs `attach` under the CNI lock, shared when `shared`. A plugin failure
 * there that looks like a race (a shared object gone after all, e.g. chains
 * flushed: two ADDs creating it collide) has been rolled back by `attach`; it
 * runs once more alone. Any other failure is the start's failure.
 */
async function lockedAdd<T>(deps: AttachDeps, attach: (shared: boolean) => Promise<T>, shared: boolean): Promise<T> {
  if (!shared) return deps.withCniLock(() => attach(false));
  try {
    return await deps.withCniLock(() => attach(true), { shared: true });
  } catch (err) {
    if (err !== RETRY_ALONE && !(isTsnerdError(err, 'plugin') && RACE_FAILURE.test(err.message))) throw err;
    deps.log(`ADD beside other containers failed, again alone: ${String(err)}`);
    return deps.withCniLock(() => attach(false));
  }
}

/**
 * Names stay resolvable through /etc/hosts without the resolver: a DNS failure does not fail the start,
 * except a gateway's port 53 held by another process (a conflict): the containers would silently get
 * that server's answers instead of their peers' addresses (docs/dns.md).
 */
export async function joinDns(
  deps: Pick<AttachDeps, 'dns' | 'addBridgeAddress' | 'log'>,
  c: HookContainer,
  endpoints: readonly Endpoint[],
  networks: readonly ResolvedNetwork[],
  results: Record<string, CniResult>,
  /** Filled with the DNS rules the join makes (the network's first container), for the caller's rollback. */
  joined?: DnsJoined,
): Promise<void> {
  const dns = dnsJoinFor(
    c,
    endpoints.map((e) => e.network),
    networks,
    results,
    endpoints.map((e) => e.aliases),
  );
  if (dns.endpoints.length === 0) {
    await deps.dns.leave(c.namespace, c.id).catch((err: unknown) => deps.log(`DNS: ${String(err)}`));
    return;
  }
  try {
    for (const { link, cidr } of resolverAddressesFor(networks)) await deps.addBridgeAddress(link, cidr);
    await deps.dns.join(dns, joined);
    deps.log('DNS records updated');
  } catch (err) {
    if (isTsnerdError(err, 'conflict')) throw err;
    deps.log(`DNS: ${String(err)}`);
  }
}
