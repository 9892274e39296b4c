/**
 * `network connect` and `network disconnect`: one endpoint more or less for a
 * container. A running container gets CNI ADD (or DEL) into its netns at once,
 * from the CLI, on the next free ethN, and the hosts files of its peers follow;
 * a created or stopped container only has its record changed and joins at its
 * next start (the createRuntime hook attaches every recorded endpoint).
 *
 * Everything happens under the host-wide CNI lock, the lock `run`'s hook
 * holds, so the record, the plugins' state and the hosts files change
 * together. Each step that changes the host registers its undo first: a
 * connect that fails halfway leaves no interface, IP, rule or hosts line.
 */
import { conflict, invalid, isTsnerdError, notFound } from '../../domain/errors.ts';
import type { HostsMeta } from '../../domain/dns/hosts-file.ts';
import { parseConfList } from '../../domain/cni/net-conf.ts';
import {
  checkEndpointFor,
  effectiveEndpoints,
  nextInterfaceName,
  plannedNetwork,
  type Endpoint,
  type EndpointOptions,
} from '../../domain/network/endpoint.ts';
import { parseNetworkMode } from '../../domain/network-mode.ts';
import { pluginSubnets } from '../../domain/network/network.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';
import type { HookContainer } from '../../domain/oci/state.ts';
import type { CniResult } from '../../interfaces/cni.ts';
import type { ResolvedNetwork } from '../../interfaces/network-resolver.ts';
import { UndoStack } from '../containers/undo-stack.ts';
import { bridgeLinks, cachedRuntimeConf, cniContainerId, hostsMeta, runtimeConfFor } from './attachment.ts';
import type { AttachDeps } from './deps.ts';
import { assertStillDefined, joinDns } from './setup.ts';
import { addAttachment, delAttachment } from './cni-calls.ts';

/** Docker's messages (moby runconfig/errors.go). */
const HOST_NETWORK = 'container cannot be disconnected from host network or connected to host network';
const SHARED_NETWORK = 'container sharing network namespace with another container or host cannot be connected to any other network';
const NONE_NETWORK = 'container cannot be connected to multiple networks with one of the networks in private (none) mode';

export interface ConnectTarget {
  container: HookContainer;
  /** The container's name for messages (Docker names it in the duplicate-connect error). */
  name: string;
  /** Whether the task runs: then the endpoint is attached now, else at the next start. */
  running: boolean;
}

export interface ConnectResult {
  network: string;
  ifname: string;
  /** Attached now (false: recorded for the next start). */
  attached: boolean;
}

/** The refusals that need no lookup: pseudo networks, and containers not on CNI networks. */
function refuseNonCni(c: HookContainer, networkRef: string): void {
  if (networkRef === 'host') throw invalid(HOST_NETWORK);
  if (networkRef.startsWith('container:') || networkRef.startsWith('ns:')) throw invalid(SHARED_NETWORK);
  const mode = parseNetworkMode(decodeContainerLabels(c.annotations).networks);
  if (networkRef === 'none') throw invalid(mode.kind === 'host' ? HOST_NETWORK : mode.kind === 'cni' ? NONE_NETWORK : SHARED_NETWORK);
  switch (mode.kind) {
    case 'host':
      throw invalid(HOST_NETWORK);
    case 'none':
      throw invalid(NONE_NETWORK);
    case 'container':
    case 'ns':
      throw invalid(SHARED_NETWORK);
    default:
  }
}

/** The endpoint among `endpoints` that is on `net` (by name, or by the ref stored at run). */
async function findEndpoint(
  deps: AttachDeps,
  c: HookContainer,
  endpoints: readonly Endpoint[],
  net: Pick<ResolvedNetwork, 'name'> | undefined,
  ref: string,
): Promise<Endpoint | undefined> {
  for (const e of endpoints) {
    if (e.network === ref || (net && e.network === net.name)) return e;
    if (!net) continue;
    const other = await deps.resolver.resolve(c.namespace, e.network).catch(() => undefined);
    if (other?.name === net.name) return e;
  }
  return undefined;
}

export async function connectNetwork(
  deps: AttachDeps,
  t: ConnectTarget,
  networkRef: string,
  options: EndpointOptions,
): Promise<ConnectResult> {
  const c = t.container;
  refuseNonCni(c, networkRef);
  const net = await deps.resolver.resolve(c.namespace, networkRef);
  checkEndpointFor(plannedNetwork(networkRef, net.name, net.list.raw), options);
  if (options.ip || options.ip6) {
    const { checkRequestedAddress } = await import('../../domain/network/requested-address.ts');
    const target = { name: net.name, subnets: pluginSubnets(net.list.plugins.map((p) => p.raw)) };
    if (options.ip) checkRequestedAddress('--ip', options.ip, target);
    if (options.ip6) checkRequestedAddress('--ip6', options.ip6, target);
  }
  if (options.mac !== undefined && !['bridge', 'macvlan'].includes(net.list.plugins[0]?.type ?? '')) {
    throw invalid(`network type "${net.list.plugins[0]?.type}" is not supported with --mac-address: only bridge and macvlan are`);
  }
  return deps.withCniLock(async () => {
    await assertStillDefined(deps, [net]);
    const endpoints = effectiveEndpoints(await deps.state.readEndpoints(c.stateDir), c.annotations);
    const running = t.running && (await isAttachable(deps, c));
    if (running) await releaseUnrecorded(deps, c, endpoints, `/proc/${c.pid}/ns/net`);
    if (await findEndpoint(deps, c, endpoints, net, networkRef)) {
      throw conflict(`endpoint with name ${t.name} already exists in network ${net.name}`);
    }
    const endpoint: Endpoint = {
      network: net.name,
      ifname: nextInterfaceName(endpoints),
      aliases: [...new Set(options.aliases)],
      ...(options.ip ? { ip: options.ip } : {}),
      ...(options.ip6 ? { ip6: options.ip6 } : {}),
      ...(options.mac ? { mac: options.mac } : {}),
      // The published ports went with the network that carried them: the next network connected gets them (Docker re-publishes on the new gateway endpoint).
      ...(endpoints.some((e) => e.publish) ? {} : { publish: true }),
    };
    const undo = new UndoStack();
    await undo.guard(async () => {
      let result: CniResult | undefined;
      if (running) {
        const netns = `/proc/${c.pid}/ns/net`;
        for (const link of bridgeLinks(net.list)) await deps.removeDeadBridge(link);
        const { portMappings } = await deps.state.readNetworkConfig(c.stateDir);
        const rt = runtimeConfFor(c, netns, endpoint, net.list, portMappings);
        // A plugin that fails halfway may have made a veth or taken an IP: DEL undoes what there is.
        undo.push(() => delAttachment(deps, net.list, rt));
        deps.log(`ADD ${net.name} ${rt.ifName}`);
        result = await addAttachment(deps, net.list, rt);
        deps.faultPoint('connect-added');
      }
      await deps.state.writeEndpoints(c.stateDir, [...endpoints, endpoint]);
      undo.push(() => deps.state.writeEndpoints(c.stateDir, endpoints));
      if (running && result)
        await updateHosts(deps, c, undo, (networks) => ({ ...networks, [endpoint.network]: result }), [...endpoints, endpoint]);
    });
    return { network: net.name, ifname: endpoint.ifname, attached: running };
  });
}

export async function disconnectNetwork(deps: AttachDeps, t: ConnectTarget, networkRef: string, force: boolean): Promise<void> {
  const c = t.container;
  if (networkRef === 'host') throw invalid(HOST_NETWORK);
  const mode = parseNetworkMode(decodeContainerLabels(c.annotations).networks);
  if (mode.kind === 'host') throw invalid(HOST_NETWORK);
  // An unknown network is an error, unless -f: the attachment may outlive its network's file.
  const net = await deps.resolver.resolve(c.namespace, networkRef).catch((err: unknown) => {
    if (force && isTsnerdError(err, 'not-found')) return undefined;
    throw err;
  });
  await deps.withCniLock(async () => {
    const endpoints = effectiveEndpoints(await deps.state.readEndpoints(c.stateDir), c.annotations);
    const running = t.running && (await isAttachable(deps, c));
    const left = running ? await releaseUnrecorded(deps, c, endpoints, `/proc/${c.pid}/ns/net`) : [];
    const endpoint = await findEndpoint(deps, c, endpoints, net, networkRef);
    if (!endpoint) {
      // A disconnect killed once its record was written: finished now.
      if (force || left.includes(net?.name ?? networkRef)) return;
      throw notFound(`container ${c.id} is not connected to network ${net?.name ?? networkRef}`);
    }
    const rest = endpoints.filter((e) => e !== endpoint);
    if (running) {
      const cniId = cniContainerId(c.namespace, c.id);
      const netns = `/proc/${c.pid}/ns/net`;
      // The cached ADD (its conflist, args and ports) is what must be undone, even if the network file changed since.
      const onIf = (await deps.cni.getCachedAttachments(cniId)).filter((a) => a.ifName === endpoint.ifname);
      const cached = onIf.find((a) => a.networkName === net?.name) ?? onIf[0];
      const list = cached?.config ? parseConfList(cached.config) : net?.list;
      // The record first: a disconnect killed after it leaves an attachment the record does not name,
      // which the next connect or disconnect of the container (or network gc) releases.
      await deps.state.writeEndpoints(c.stateDir, rest);
      deps.faultPoint('disconnect-recorded');
      if (list) {
        const { portMappings } = await deps.state.readNetworkConfig(c.stateDir);
        const rt = cached ? cachedRuntimeConf(cached, netns) : runtimeConfFor(c, netns, endpoint, list, portMappings);
        deps.log(`DEL ${list.name} ${rt.ifName}`);
        try {
          await delAttachment(deps, list, rt);
        } catch (err) {
          if (!force) {
            await deps.state.writeEndpoints(c.stateDir, endpoints);
            throw err;
          }
        }
        deps.faultPoint('disconnect-deleted');
      }
      await updateHosts(
        deps,
        c,
        new UndoStack(),
        (networks) => Object.fromEntries(Object.entries(networks).filter(([key]) => key !== endpoint.network)),
        rest,
      );
      return;
    }
    await deps.state.writeEndpoints(c.stateDir, rest);
  });
}

/**
 * What a `network connect` or `disconnect` killed midway left on a running container, undone:
 * the record (`endpoints.json`) decides. An attachment it does not name (a connect killed after
 * its ADD, before the record; a disconnect killed after the record, before its DEL) is detached
 * (DEL from the cache entry); a network of its hosts entry no endpoint is on (a disconnect killed
 * before the hosts files) leaves the hosts files and DNS. The caller holds the CNI lock. Returns
 * the networks it released something of.
 */
export async function releaseUnrecorded(
  deps: AttachDeps,
  c: HookContainer,
  endpoints: readonly Endpoint[],
  netns: string,
): Promise<string[]> {
  const released = new Set<string>();
  const ifnames = new Set(endpoints.map((e) => e.ifname));
  for (const a of await deps.cni.getCachedAttachments(cniContainerId(c.namespace, c.id))) {
    if (ifnames.has(a.ifName) || !a.config) continue;
    deps.log(`DEL ${a.networkName} ${a.ifName}: no endpoint names it`);
    await delAttachment(deps, parseConfList(a.config), cachedRuntimeConf(a, netns));
    released.add(a.networkName);
  }
  const current = (await deps.hosts.list(c.namespace)).find((m) => m.ID === c.id);
  const stale: string[] = [];
  for (const name of Object.keys(current?.Networks ?? {})) if (!(await findEndpoint(deps, c, endpoints, { name }, name))) stale.push(name);
  if (stale.length > 0) {
    deps.log(`hosts entry: leaving ${stale.join(', ')}: no endpoint names it`);
    await updateHosts(
      deps,
      c,
      new UndoStack(),
      (networks) => Object.fromEntries(Object.entries(networks).filter(([key]) => !stale.includes(key))),
      endpoints,
    );
    for (const name of stale) released.add(name);
  }
  return [...released];
}

/** The task still runs and its netns is there (a stop in progress has not taken the endpoints away). */
async function isAttachable(deps: AttachDeps, c: HookContainer): Promise<boolean> {
  if (c.pid <= 0) return false;
  const lifecycle = await deps.state.readLifecycle(c.stateDir);
  return !lifecycle.stopped_at || (lifecycle.started_at !== undefined && lifecycle.started_at > lifecycle.stopped_at);
}

/** Rewrites the container's hosts entry (and so every peer's file); the old entry is restored on rollback. */
async function updateHosts(
  deps: AttachDeps,
  c: HookContainer,
  undo: UndoStack,
  change: (networks: NonNullable<HostsMeta['Networks']>) => NonNullable<HostsMeta['Networks']>,
  endpoints: readonly Endpoint[],
): Promise<void> {
  const current = (await deps.hosts.list(c.namespace)).find((m) => m.ID === c.id) ?? hostsMeta(c, {}, endpoints);
  const next = hostsMeta(c, change(current.Networks ?? {}), endpoints);
  await deps.hosts.acquire(c.namespace, next);
  undo.push(() => deps.hosts.acquire(c.namespace, current));
  await syncDns(deps, c, endpoints, next.Networks ?? {});
}

/**
 * The embedded resolver's records follow the endpoints (names and aliases per
 * network); as at start, a DNS failure is logged, not fatal: /etc/hosts has the names (but for
 * a gateway's port 53 held by another process, as at start).
 */
async function syncDns(
  deps: AttachDeps,
  c: HookContainer,
  endpoints: readonly Endpoint[],
  networks: NonNullable<HostsMeta['Networks']>,
): Promise<void> {
  try {
    const attached = endpoints.filter((e) => networks[e.network] !== undefined);
    const resolved = await Promise.all(attached.map((e) => deps.resolver.resolve(c.namespace, e.network)));
    await joinDns(deps, c, attached, resolved, networks as Record<string, CniResult>);
  } catch (err) {
    if (isTsnerdError(err, 'conflict')) throw err; // the gateway's port 53 is another process's: undone as a failed connect
    deps.log(`DNS: ${String(err)}`);
  }
}
