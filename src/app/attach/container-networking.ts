/**
 * Container networking as the container use cases see it: what `create`,
 * `start`, `stop`/`kill`, `rm`, `inspect`, `ps` and `port` need from the
 * networking side, on one object.
 */
import { join } from 'node:path';
import {
  NERDCTL_NAMESPACE_LABEL,
  NERDCTL_NETWORKS_LABEL,
  containerOwner,
  decodeContainerLabels,
  decodeIdentityLabels,
  hasTsnerdLabels,
} from '../../domain/labels.ts';
import { ErrorList } from '../../domain/errors.ts';
import { StateFiles } from '../../domain/store-layout.ts';
import { networkSettings, type NetworkSettings } from '../../domain/network-settings.ts';
import { assertPortsFree, fromNerdctlPortMapping, type PortMapping } from '../../domain/publish/index.ts';
import type { HookContainer } from '../../domain/oci/state.ts';
import type { UndoStack } from '../containers/undo-stack.ts';
import type { AttachDeps } from './deps.ts';
import { prepareNetworking, type PrepareAttachDeps, type PrepareNetworkingInput, type PreparedNetworking } from './prepare.ts';
import { detachForStop, releaseCached, releaseWithoutTask } from './teardown.ts';
import { cniContainerId, heldPortMappings } from './attachment.ts';
import { connectNetwork, disconnectNetwork, type ConnectResult } from './connect.ts';
import { reloadAttachments } from './reload.ts';
import { effectiveEndpoints, type Endpoint, type EndpointOptions } from '../../domain/network/endpoint.ts';
import { parseNetworkMode } from '../../domain/network-mode.ts';
import { shortId } from '../../domain/container-ref.ts';

/** A container as the networking side needs to know it. */
export interface NetworkedContainer {
  id: string;
  /** The running task's pid; 0 when there is none. */
  pid: number;
  stateDir: string;
  labels: Record<string, string>;
}

export class ContainerNetworking {
  private readonly namespace: string;
  private readonly deps: AttachDeps;
  private readonly prepareDeps: PrepareAttachDeps;

  constructor(namespace: string, deps: AttachDeps, prepareDeps: PrepareAttachDeps) {
    this.namespace = namespace;
    this.deps = deps;
    this.prepareDeps = prepareDeps;
  }

  /** create: files, ports and spec pieces; undone through `undo`. */
  prepare(input: Omit<PrepareNetworkingInput, 'namespace'>, undo: UndoStack): Promise<PreparedNetworking> {
    return prepareNetworking(this.prepareDeps, { ...input, namespace: this.namespace }, undo);
  }

  /** start of a stopped container: its host ports must still be free. */
  async assertPortsFree(c: NetworkedContainer): Promise<void> {
    const mine = await this.portMappings(c);
    if (mine.length === 0) return;
    // A task that exited on its own still holds its ports until its postStop; it is not running, so they go now.
    await this.deps.reserver.stop(c.stateDir);
    assertPortsFree(mine, await this.prepareDeps.host.usedPorts(c.stateDir));
  }

  /**
   * stop/kill: forwards and IPs go while the netns still exists (`netns`: held open by the
   * caller past the container's exit; by default the running init's).
   */
  beforeStop(c: NetworkedContainer, netns?: string): Promise<void> {
    switch (containerOwner(c.labels)) {
      case 'tsnerd':
        return detachForStop(this.deps, this.hookView(c), netns);
      case 'nerdctl': {
        // What nerdctl's stop and kill do: DEL without netns, so the forwards go; its records are nerdctl's.
        const ns = c.labels[NERDCTL_NAMESPACE_LABEL] ?? this.namespace;
        return releaseCached(this.deps, cniContainerId(ns, c.id), '');
      }
      default:
        return Promise.resolve();
    }
  }

  /** A task lost without a postStop (a tasks.Create deadline, a crash): what its attachment left. */
  async releaseWithoutTask(c: NetworkedContainer): Promise<void> {
    const owner = containerOwner(c.labels);
    if (owner === 'other') return;
    if (owner === 'nerdctl') return this.releaseLeftovers(c);
    const { namespace, stateDir, id } = this.hookView(c);
    return releaseWithoutTask(this.deps, { namespace, stateDir, id });
  }

  /**
   * rm, after the task is gone: DEL of whatever the CNI cache still holds for
   * the container (no postStop ran, or it failed). Another tool's container
   * that is not nerdctl's is not ours to touch.
   */
  async releaseLeftovers(c: NetworkedContainer): Promise<void> {
    const owner = containerOwner(c.labels);
    if (owner === 'other') return;
    const ns = owner === 'nerdctl' ? (c.labels[NERDCTL_NAMESPACE_LABEL] ?? this.namespace) : this.hookView(c).namespace;
    const errors = new ErrorList();
    await errors.attempt(() => releaseCached(this.deps, cniContainerId(ns, c.id), ''));
    // Its resolver records (no postStop left them): idempotent, and the resolver stops with the last.
    if (owner === 'tsnerd') await errors.attempt(() => this.deps.dns.leave(ns, c.id));
    errors.throwIfAny();
  }

  /** `network connect`: attached now when running, else at the next start. */
  connect(c: NetworkedContainer, name: string, network: string, options: EndpointOptions): Promise<ConnectResult> {
    return connectNetwork(this.deps, { container: this.hookView(c), name, running: c.pid > 0 }, network, options);
  }

  /** `network reload` of a running container of tsnerd's: the networks whose rules were put back. */
  reload(c: NetworkedContainer): Promise<string[]> {
    return reloadAttachments(this.deps, this.hookView(c));
  }

  /** `network reload`: the DNS rules of every network the resolver served, put back where missing (the bridges). */
  reloadDnsRules(): Promise<string[]> {
    return this.deps.dns.reloadRules();
  }

  /** `network disconnect [-f]`. */
  disconnect(c: NetworkedContainer, name: string, network: string, force: boolean): Promise<void> {
    return disconnectNetwork(this.deps, { container: this.hookView(c), name, running: c.pid > 0 }, network, force);
  }

  /**
   * rm, after the task is gone, before the state dir goes: the hosts entry and
   * file, and the port reserver (its pid file is in the state dir; a reserver
   * left by a hook that failed or was killed would otherwise be orphaned).
   */
  async removed(id: string, stateDir: string): Promise<void> {
    // Side by side (own locks each, as in postStop); failures reported in this order.
    const [ports, hosts] = [new ErrorList(), new ErrorList()];
    await Promise.all([
      ports.attempt(() => this.deps.reserver.stop(stateDir)),
      hosts.attempt(() => this.deps.hosts.delete(this.namespace, id)),
    ]);
    for (const err of hosts.errors) ports.add(err);
    ports.throwIfAny();
  }

  async portMappings(c: Pick<NetworkedContainer, 'stateDir'>): Promise<PortMapping[]> {
    const { portMappings } = await this.deps.state.readNetworkConfig(c.stateDir).catch(() => ({ portMappings: [] }));
    return portMappings.map(fromNerdctlPortMapping);
  }

  /**
   * The ports as published (`port`, inspect's NetworkSettings.Ports): on a
   * publishing network with IPv6 each all-address mapping also as `::`, as it
   * is forwarded and held (Docker lists `0.0.0.0:P` and `[::]:P`).
   */
  async publishedPorts(c: NetworkedContainer): Promise<PortMapping[]> {
    const { portMappings } = await this.deps.state.readNetworkConfig(c.stateDir).catch(() => ({ portMappings: [] }));
    if (portMappings.length === 0) return [];
    const publish = (await this.endpoints(c)).find((e) => e.publish);
    const net = publish && (await this.deps.resolver.resolve(this.hookView(c).namespace, publish.network).catch(() => undefined));
    return (publish && net ? heldPortMappings([publish], [net], portMappings) : portMappings).map(fromNerdctlPortMapping);
  }

  /** inspect's NetworkSettings: every recorded network with its aliases; addresses only while running, ports as published. */
  async settings(c: NetworkedContainer, running: boolean): Promise<NetworkSettings> {
    const meta = running ? (await this.deps.hosts.list(this.namespace)).find((m) => m.ID === c.id) : undefined;
    const endpoints = await this.endpoints(c);
    const infos = await Promise.all(
      endpoints.map(async (e) => {
        const net = await this.deps.resolver.resolve(this.namespace, e.network).catch(() => undefined);
        const id = net?.list.raw['nerdctlID'];
        return { network: e.network, aliases: e.aliases, networkId: typeof id === 'string' ? id : '' };
      }),
    );
    const labels = decodeContainerLabels(c.labels);
    const names = { name: labels.name ?? '', shortId: shortId(c.id), hostname: labels.hostname ?? '' };
    const dnsNames = running ? await this.deps.dns.names(this.namespace, c.id).catch(() => ({})) : {};
    return networkSettings(
      meta?.Networks as Parameters<typeof networkSettings>[0],
      running ? await this.publishedPorts(c) : [],
      infos,
      names,
      dnsNames,
      cniContainerId(this.hookView(c).namespace, c.id),
    );
  }

  /** The container's CNI endpoints (none for host, none, container: and ns:). */
  async endpoints(c: NetworkedContainer): Promise<Endpoint[]> {
    if (parseNetworkMode(decodeContainerLabels(c.labels).networks).kind !== 'cni') return [];
    return effectiveEndpoints(await this.deps.state.readEndpoints(c.stateDir).catch(() => undefined), c.labels);
  }

  /** Files bind-mounted into the container, for inspect's *Path fields. */
  paths(c: NetworkedContainer): { ResolvConfPath: string; HostnamePath: string; HostsPath: string } {
    return {
      ResolvConfPath: join(c.stateDir, StateFiles.resolvConf),
      HostnamePath: join(c.stateDir, StateFiles.hostname),
      HostsPath: join(this.prepareDeps.hostsDir(this.namespace, c.id), StateFiles.hosts),
    };
  }

  private hookView(c: NetworkedContainer): HookContainer {
    return {
      id: c.id,
      pid: c.pid,
      namespace: decodeIdentityLabels(c.labels).namespace ?? this.namespace,
      stateDir: c.stateDir,
      annotations: c.labels,
    };
  }
}
