/**
 * Create-time networking of `run`/`create`: validates the flags, checks the
 * networks exist and the host ports are free, writes resolv.conf, hostname,
 * hosts and network-config.json, and returns what the container spec needs
 * (namespaces, mounts, hooks, labels). CNI itself runs later, in the OCI hook.
 * Every file it writes is registered on the caller's undo stack.
 */
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { conflict, invalid, usage } from '../../domain/errors.ts';
import { pluginSubnets } from '../../domain/network/network.ts';
import { quote } from '../../domain/text.ts';
import { encodeContainerLabels } from '../../domain/labels.ts';
import { buildResolvConf, parseResolvConf, renderResolvConf, withEmbeddedOptions, type ResolvMode } from '../../domain/dns/resolv-conf.ts';
import { isDnsEnabled, networkGateways } from '../../domain/network/network.ts';
import { networkOf } from './dns.ts';
import { assertMacAddressSupported, parseAddHosts, validateNetworkFlags, type NetworkFlags } from '../../domain/network-flags.ts';
import { networkModeToList } from '../../domain/network-mode.ts';
import { planEndpoints, plannedNetwork, type Endpoint } from '../../domain/network/endpoint.ts';
import type { NamespaceSource, OciHooks, OciMount } from '../../domain/oci/spec.ts';
import { StateFiles } from '../../domain/store-layout.ts';
import { shortId } from '../../domain/container-ref.ts';
import {
  assertPublishLimit,
  exposedPorts,
  exposedPortsConfig,
  parsePublishSpecs,
  publishAllRequests,
  resolvePortMappings,
  toNerdctlPortMapping,
  type PortMapping,
} from '../../domain/publish/index.ts';
import type { ContainerStateFiles } from '../../interfaces/container-state.ts';
import type { HostFacts } from '../../interfaces/host-facts.ts';
import type { HostsStore } from '../../interfaces/hosts-store.ts';
import type { NetworkResolver } from '../../interfaces/network-resolver.ts';
import type { ContainerNetworkHost, JoinTarget } from '../../interfaces/container-network-host.ts';
import type { UndoStack } from '../containers/undo-stack.ts';

export interface PrepareAttachDeps {
  resolver: NetworkResolver;
  hosts: HostsStore;
  hostFacts: HostFacts;
  state: Pick<ContainerStateFiles, 'writeNetworkConfig' | 'writeEndpoints'>;
  host: ContainerNetworkHost;
  /** Finds the running container a `container:<ref>` network joins. */
  joinTarget(ref: string): Promise<JoinTarget>;
  /** The container's etchosts dir. */
  hostsDir(namespace: string, id: string): string;
}

export interface PrepareNetworkingInput {
  namespace: string;
  id: string;
  name: string;
  stateDir: string;
  flags: NetworkFlags;
  imageExposedPorts: Record<string, unknown>;
}

export interface PreparedNetworking {
  network: NamespaceSource;
  uts: 'private' | 'host';
  /** Undefined with --uts host. */
  hostname: string | undefined;
  domainname: string | undefined;
  /** tsnerd/* labels the hook reads back as annotations. */
  labels: Record<string, string>;
  mounts: OciMount[];
  hooks: OciHooks;
  portMappings: PortMapping[];
  exposedPorts: Record<string, Record<string, never>>;
}

export async function prepareNetworking(
  deps: PrepareAttachDeps,
  input: PrepareNetworkingInput,
  undo: UndoStack,
): Promise<PreparedNetworking> {
  const { flags, namespace, id, stateDir } = input;
  validateNetworkFlags(flags);
  const mode = flags.mode;
  // The host's interfaces (one getifaddrs, a line per veth on a busy host) only when --add-host may name host-gateway.
  const extraHosts = parseAddHosts(flags.addHosts, flags.addHosts.length > 0 ? deps.hostFacts.hostGatewayIp() : undefined);
  const requests = parsePublishSpecs(flags.publish);
  const exposed = exposedPorts(flags.expose, input.imageExposedPorts);
  if (flags.publishAll) requests.push(...publishAllRequests(exposed, requests));
  assertPublishLimit(requests);
  if (requests.length > 0 && mode.kind !== 'cni') {
    throw usage(`published ports need a CNI network, not "${networkModeToList(mode).join(',')}"`);
  }

  // Unknown networks fail here, before anything exists (nerdctl only finds out in the hook).
  const networks = [];
  let endpoints: Endpoint[] = [];
  if (mode.kind === 'cni') {
    for (const ref of mode.networks) networks.push(await deps.resolver.resolve(namespace, ref));
    endpoints = planEndpoints(
      networks.map((n, i) => plannedNetwork(mode.networks[i]!, n.name, n.list.raw)),
      flags.networkSpecs ?? [],
      { aliases: flags.networkAliases ?? [], ip: flags.ip, ip6: flags.ip6, mac: flags.macAddress },
    );
    for (const [i, e] of endpoints.entries()) assertMacAddressSupported(e.mac, networks[i]?.list.plugins[0]?.type);
    if (endpoints.some((e) => e.ip || e.ip6)) {
      // What host-local refuses in the hook, refused now (ip-num is loaded only for these flags).
      const { checkRequestedAddress } = await import('../../domain/network/requested-address.ts');
      for (const [i, e] of endpoints.entries()) {
        const n = networks[i]!;
        const target = { name: n.name, subnets: pluginSubnets(n.list.plugins.map((p) => p.raw)) };
        if (e.ip) checkRequestedAddress('--ip', e.ip, target);
        if (e.ip6) checkRequestedAddress('--ip6', e.ip6, target);
        if (e.ip || e.ip6)
          await assertAddressesFree(deps.hosts, namespace, [mode.networks[i]!, n.name], { ...flags, ip: e.ip, ip6: e.ip6 });
      }
    }
  }
  await assertHostIpsLocal(deps.hostFacts, requests);
  const join_ = mode.kind === 'container' ? await deps.joinTarget(mode.container) : undefined;

  const uts = flags.uts === 'host' || mode.kind === 'host' ? 'host' : 'private';
  const hostname = uts === 'host' ? deps.hostFacts.hostname() : flags.hostname || shortId(id);

  const mounts: OciMount[] = [];
  const bind = (destination: string, source: string): void => {
    mounts.push({ destination, type: 'bind', source, options: ['bind', 'rprivate'] });
  };

  if (join_) {
    // Share the target's files: its hosts file lists this container's peers too.
    bind('/etc/resolv.conf', join(join_.stateDir, StateFiles.resolvConf));
    bind('/etc/hostname', join(join_.stateDir, StateFiles.hostname));
    bind('/etc/hosts', join_.hostsPath);
  } else {
    const resolvPath = join(stateDir, StateFiles.resolvConf);
    const resolvMode: ResolvMode = mode.kind === 'host' ? 'host' : mode.kind === 'cni' ? 'cni' : 'none';
    // On a DNS-enabled network the embedded resolver on its gateway comes before the host's servers; --dns still wins.
    const embedded = networks.map(networkOf).find(isDnsEnabled);
    const resolver = embedded ? networkGateways(embedded).find((gw) => isIPv4(gw)) : undefined;
    const conf = buildResolvConf(resolvMode, [
      { nameservers: flags.dns, search: flags.dnsSearch, options: flags.dnsOptions },
      { nameservers: resolver === undefined ? [] : [resolver] },
      parseResolvConf(await deps.hostFacts.resolvConf()),
    ]);
    if (resolver !== undefined && conf.nameservers[0] === resolver) conf.options = withEmbeddedOptions(conf.options);
    await deps.host.writeMountedFile(resolvPath, renderResolvConf(conf));
    bind('/etc/resolv.conf', resolvPath);

    const hostnamePath = join(stateDir, StateFiles.hostname);
    await deps.host.writeMountedFile(hostnamePath, `${hostname}\n`);
    bind('/etc/hostname', hostnamePath);

    const hostsContent = mode.kind === 'host' ? await deps.hostFacts.etcHosts() : '';
    undo.push(() => deps.hosts.delete(namespace, id));
    const hostsPath = await deps.hosts.allocate(namespace, id, hostsContent);
    bind('/etc/hosts', hostsPath);
    if (mode.kind !== 'cni') {
      // No hook work for these: the hosts entry is complete now.
      await deps.hosts.acquire(namespace, {
        ID: id,
        Networks: null,
        Hostname: hostname,
        Domainname: flags.domainname ?? '',
        ExtraHosts: Object.fromEntries(extraHosts.map((e) => [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)])),
        Name: input.name,
      });
    }
  }

  const portMappings =
    requests.length === 0
      ? []
      : await deps.host.withPortLock(async () => {
          const mappings = resolvePortMappings(requests, await deps.host.usedPorts());
          await deps.state.writeNetworkConfig(stateDir, { portMappings: mappings.map(toNerdctlPortMapping) });
          return mappings;
        });
  if (requests.length === 0) await deps.state.writeNetworkConfig(stateDir, { portMappings: [] });
  // What the hook attaches at every start; `network connect`/`disconnect` change it later. Goes with the state dir.
  if (mode.kind === 'cni') await deps.state.writeEndpoints(stateDir, endpoints);

  const hasDns = flags.dns.length + flags.dnsSearch.length + flags.dnsOptions.length > 0;
  const labels = encodeContainerLabels({
    networks: networkModeToList(mode),
    hostname,
    domainname: flags.domainname,
    extraHosts,
    ip: flags.ip,
    ip6: flags.ip6,
    macAddress: flags.macAddress,
    dns: hasDns ? { DNSServers: flags.dns, DNSSearchDomains: flags.dnsSearch, DNSResolvConfOptions: flags.dnsOptions } : undefined,
    // the image's and --expose's ports ("80/tcp"), which inspect shows as Config.ExposedPorts
    exposedPorts: Object.keys(exposedPortsConfig(exposed)),
  });

  return {
    network: networkNamespace(mode, join_),
    uts,
    hostname: uts === 'host' ? undefined : hostname,
    domainname: flags.domainname,
    labels,
    mounts,
    // Only CNI networks have hook work; two node processes per container cost ~250 ms of a `run`.
    hooks: mode.kind === 'cni' ? { createRuntime: [deps.host.hook('createRuntime')], poststop: [deps.host.hook('postStop')] } : {},
    portMappings,
    exposedPorts: exposedPortsConfig(exposed),
  };
}

/**
 * `--ip`/`--ip6` already held by a running container of the namespace on that
 * network (its hosts entry lists the addresses the hook got): host-local
 * would refuse it in the hook, after the container exists.
 */
async function assertAddressesFree(hosts: HostsStore, namespace: string, refs: readonly string[], flags: NetworkFlags): Promise<void> {
  const wanted = [
    ['--ip', flags.ip],
    ['--ip6', flags.ip6],
  ].filter((e): e is [string, string] => Boolean(e[1]));
  for (const meta of await hosts.list(namespace)) {
    for (const [ref, result] of Object.entries(meta.Networks ?? {})) {
      if (!refs.includes(ref)) continue;
      for (const { address } of result.ips ?? []) {
        const held = wanted.find(([, ip]) => address.split('/')[0] === ip);
        if (held)
          throw conflict(
            `${held[0]} ${quote(held[1])} is already in use by container ${quote(meta.Name || meta.ID.slice(0, 12))} on network ${quote(refs[1]!)}`,
          );
      }
    }
  }
}

/** A published host IP must be one of the host's: the port reserver cannot bind it otherwise. */
async function assertHostIpsLocal(facts: HostFacts, requests: readonly { hostIP: string }[]): Promise<void> {
  for (const ip of new Set(requests.map((r) => r.hostIP))) {
    if (ip === '0.0.0.0' || ip === '::') continue;
    if (!(await facts.isLocalAddress(ip))) throw invalid(`cannot publish on host IP ${quote(ip)}: it is not an address of this host`);
  }
}

function networkNamespace(mode: NetworkFlags['mode'], target: JoinTarget | undefined): NamespaceSource {
  switch (mode.kind) {
    case 'host':
      return { kind: 'host' };
    case 'ns':
      return { kind: 'path', path: mode.path };
    case 'container':
      return { kind: 'path', path: `/proc/${target!.pid}/ns/net` };
    default:
      return { kind: 'private' };
  }
}
