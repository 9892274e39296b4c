/** Composes the adapters container networking runs on (used by the OCI hook and by stop/kill/rm). */
import { join } from 'node:path';
import type { Settings } from '../domain/settings.ts';
import { StoreLayout } from '../domain/store-layout.ts';
import type { AttachDeps } from '../app/attach/deps.ts';
import type { AfterRestartDeps } from '../app/attach/after-restart.ts';
import { LowdbRestartMarker } from '../adapters/store/lowdb-restart-marker.ts';
import { LowdbSharedAddGate } from '../adapters/host/lowdb-shared-add-gate.ts';
import { LinuxCniHostState } from '../adapters/host/linux-cni-host-state.ts';
import { createCniRuntime } from './cni.ts';
import { StoreNetworkResolver } from '../adapters/cni/store-network-resolver.ts';
import { createNetworkStore } from './networks.ts';
import { FileHostsStore } from '../adapters/store/hosts-store.ts';
import { FileContainerStateFiles } from '../adapters/store/container-state-files.ts';
import { registerLockFiles, withFlock } from '../adapters/store/flock.ts';
import { ConfDirStore } from '../adapters/store/conf-dir-store.ts';
import { ProcessPortReserver } from '../adapters/host/process-port-reserver.ts';
import { StoreDnsRegistry } from '../adapters/dns/store-dns-registry.ts';
import { firewallAddFast, firewallDelFast } from '../adapters/netfilter/firewall-fast.ts';
import { addIpMasqChain, ensureIpMasqChain, removeIpMasqChain } from '../adapters/netfilter/ipmasq-cleanup.ts';
import { removeHashChains } from '../adapters/netfilter/hash-chains.ts';
import { removeDeadBridge } from '../adapters/host/dead-bridge.ts';
import { faultPoint } from '../adapters/host/fault-injection.ts';
import { addBridgeAddress } from '../adapters/host/bridge-address.ts';
import { LinuxHostFacts } from '../adapters/host/linux-host-facts.ts';
import { LinuxContainerNetworkHost } from '../adapters/host/linux-container-network-host.ts';
import { ContainerNetworking } from '../app/attach/container-networking.ts';
import type { JoinTarget } from '../interfaces/container-network-host.ts';

/** nerdctl's lock file name, so both tools serialise their CNI work against each other. */
const CNI_LOCK_FILE = '.cni-concurrency.lock';

export function createNetworkingDeps(settings: Settings, log: (line: string) => void): AttachDeps {
  const layout = new StoreLayout(settings.dataRoot, settings.address);
  // While the CNI lock is held, plugins inherit its descriptor: a hook killed
  // mid-ADD leaves the lock held until its plugin is done, so the rollback's
  // DEL (postStop, under the same lock) cannot run before that ADD ends.
  let heldLockFd: number | undefined;
  return {
    cni: createCniRuntime(settings, {
      onStderr: (type, text) => log(`plugin ${type}: ${text.trimEnd()}`),
      heldLockFd: () => heldLockFd,
      onPluginDone: (type, verb, ms) => log(`plugin ${type} ${verb} ${ms.toFixed(0)}ms`),
      shortcut: async (plugin, verb, prevResult) =>
        plugin.type === 'firewall' && (verb === 'ADD' ? firewallAddFast : firewallDelFast)(plugin.raw, prevResult),
    }),
    resolver: new StoreNetworkResolver((namespace) => createNetworkStore({ ...settings, namespace }, { warn: log })),
    hosts: new FileHostsStore(layout),
    state: new FileContainerStateFiles(),
    reserver: new ProcessPortReserver(settings.dataRoot, settings),
    dns: new StoreDnsRegistry(layout.dnsDir(), {
      log,
      bindPort: settings.dnsBindPort === undefined ? undefined : Number(settings.dnsBindPort),
    }),
    removeIpMasqChain,
    removeHashChains: (owners) => removeHashChains(owners),
    ensureIpMasqChain,
    addIpMasqChain,
    removeDeadBridge,
    faultPoint,
    addBridgeAddress,
    withCniLock: (fn, opts) =>
      withFlock(
        join(settings.cniNetconfPath, CNI_LOCK_FILE),
        async (fd) => {
          heldLockFd = fd;
          try {
            return await fn();
          } finally {
            heldLockFd = undefined;
          }
        },
        { shared: opts?.shared ?? false },
      ),
    sharedAdd: new LowdbSharedAddGate(layout.root),
    ensureOverlayAgent: async (namespace, network) => {
      const { ProcessOverlayAgents, overlayStateDir } = await import('../adapters/overlay/agent-process.ts');
      await new ProcessOverlayAgents(layout.dnsDir()).ensure(overlayStateDir(settings.dataRoot, namespace, network));
    },
    log,
  };
}

/**
 * The OCI hook's locks (conf dir, CNI, the namespace's hosts files, DNS records), opened once
 * so that one helper process takes them all instead of a flock(1) child per lock (adapters/store/flock.ts).
 */
export function registerHookLocks(settings: Settings, namespace: string): void {
  const layout = new StoreLayout(settings.dataRoot, settings.address);
  registerLockFiles([
    new ConfDirStore(settings.cniNetconfPath).lockFile,
    join(settings.cniNetconfPath, CNI_LOCK_FILE),
    new FileHostsStore(layout).lockFile(namespace),
    new StoreDnsRegistry(layout.dnsDir()).lockFile,
  ]);
}

/** createRuntime's reconciliation after a reboot or a containerd restart (app/attach/after-restart.ts). */
export function createAfterRestartDeps(settings: Settings, deps: AttachDeps): AfterRestartDeps {
  const layout = new StoreLayout(settings.dataRoot, settings.address);
  return {
    ...deps,
    marker: new LowdbRestartMarker(layout.root, settings.address),
    hostCni: new LinuxCniHostState(),
    knownNetworks: async (namespace) =>
      (await createNetworkStore({ ...settings, namespace }, { warn: () => undefined }).list()).filter((n) => !n.pseudo),
  };
}

/** The networking side of the container use cases (create, start, stop, rm, inspect). */
export function createContainerNetworking(settings: Settings, joinTarget: (ref: string) => Promise<JoinTarget>): ContainerNetworking {
  const layout = new StoreLayout(settings.dataRoot, settings.address);
  const deps = createNetworkingDeps(settings, () => undefined);
  return new ContainerNetworking(settings.namespace, deps, {
    resolver: deps.resolver,
    hosts: deps.hosts,
    hostFacts: new LinuxHostFacts(settings.hostGatewayIp),
    state: deps.state,
    host: new LinuxContainerNetworkHost(settings, layout, deps.state),
    joinTarget,
    hostsDir: (namespace, id) => layout.hostsDir(namespace, id),
  });
}
