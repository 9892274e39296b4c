/** Composes `network gc`: containerd's inventory, the CNI runtime, host state and the data store. */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Settings } from '../domain/settings.ts';
import { StoreLayout } from '../domain/store-layout.ts';
import type { Network } from '../domain/network/network.ts';
import type { OverlayUpkeep, ReclaimDeps } from '../app/reclaim/deps.ts';
import { ContainerdClient } from '../adapters/containerd/client.ts';
import { GrpcContainerInventory } from '../adapters/containerd/grpc-container-inventory.ts';
import { LinuxCniHostState } from '../adapters/host/linux-cni-host-state.ts';
import { isProcess, killProcess, reapers, shimPids, signalIfAlive } from '../adapters/host/proc.ts';
import { removeStaleHookServerFiles } from '../adapters/host/hook-server-process.ts';
import { removeStaleCliServerFiles } from '../adapters/host/cli-server-process.ts';
import { FileDataStoreScan } from '../adapters/store/file-data-store-scan.ts';
import { FileContainerStateFiles } from '../adapters/store/container-state-files.ts';
import { LowdbBridgeRegistry } from '../adapters/store/lowdb-bridge-registry.ts';
import { createNetworkingDeps } from './attach.ts';
import { createNetworkDeps, createNetworkStore } from './networks.ts';
import type { NetworksDeps } from '../app/networks/deps.ts';
import { CacheCniUsers } from '../app/reclaim/cni-users.ts';
import { remoteRecordsFileNetwork } from '../domain/dns/records.ts';
import { ProcessOverlayAgents } from '../adapters/overlay/agent-process.ts';
import { LowdbOverlayStates } from '../adapters/overlay/lowdb-overlay-states.ts';

/** A start of another tool's container (no start deadline of tsnerd's) that has not reached containerd's task list within this long is not in flight any more. */
const GRACE_MS = 60_000;

export async function openReclaim(settings: Settings): Promise<{ deps: ReclaimDeps; close(): void }> {
  const client = await ContainerdClient.connect({ address: settings.address, namespace: settings.namespace });
  const layout = new StoreLayout(settings.dataRoot, settings.address);
  const attach = createNetworkingDeps(settings, () => undefined);
  const deps: ReclaimDeps = {
    inventory: new GrpcContainerInventory(client),
    networks: (namespaces) => knownNetworks(settings, namespaces),
    cni: attach.cni,
    hostCni: new LinuxCniHostState(),
    reserver: attach.reserver,
    hosts: attach.hosts,
    dns: attach.dns,
    store: new FileDataStoreScan(layout),
    bridges: new LowdbBridgeRegistry(layout.root),
    storeRoot: layout.root,
    removeIpMasqChain: attach.removeIpMasqChain,
    removeHashChains: attach.removeHashChains,
    withCniLock: attach.withCniLock,
    removeStaleHookServerFiles: (dryRun) => removeStaleHookServerFiles(layout.root, dryRun),
    removeStaleCliServerFiles: (dryRun) => removeStaleCliServerFiles(settings.dataRoot, dryRun),
    processAlive: isProcess,
    killProcess,
    shimPids: (namespace, id) => shimPids(settings.address, namespace, id),
    killShim: async (pid) => signalIfAlive(pid, 'SIGKILL'),
    reapers,
    recordedInterfaces: async (stateDir) => (await new FileContainerStateFiles().readEndpoints(stateDir))?.map((e) => e.ifname),
    removeContainer: async (namespace, id) => {
      // The container use cases (containerd's images and tasks) only when there is one to remove.
      const [{ openContainers }, { removeContainer }] = await Promise.all([
        import('./containers.ts'),
        import('../app/containers/remove-container.ts'),
      ]);
      const handle = await openContainers({ ...settings, namespace });
      try {
        await removeContainer(handle.ctx, id, { force: false });
      } finally {
        await handle.close();
      }
    },
    overlay: overlayUpkeep(settings.dataRoot, layout.dnsDir()),
    now: () => new Date(),
    graceMs: GRACE_MS,
  };
  return { deps, close: () => client.close() };
}

/** The conf dir's networks as every namespace sees them (the top level and `<ns>/`), by name. */
async function knownNetworks(settings: Settings, namespaces: readonly string[]): Promise<Network[]> {
  const byName = new Map<string, Network>();
  for (const namespace of new Set([settings.namespace, ...namespaces])) {
    const store = createNetworkStore({ ...settings, namespace }, { warn: () => undefined });
    for (const n of await store.list()) if (!n.pseudo && !byName.has(n.name)) byName.set(n.name, n);
  }
  return [...byName.values()];
}

/** `network rm` and `prune`: network management plus who uses a network by the CNI cache, and the means to release stale users. */
export function createNetworkRemovalDeps(settings: Settings): NetworksDeps {
  const attach = createNetworkingDeps(settings, () => undefined);
  return {
    ...createNetworkDeps(settings),
    cniUsers: new CacheCniUsers({
      cni: attach.cni,
      hostCni: new LinuxCniHostState(),
      removeIpMasqChain: attach.removeIpMasqChain,
      removeHashChains: attach.removeHashChains,
      withCniLock: attach.withCniLock,
    }),
  };
}

/** The overlay side of gc: this host's overlay states and agents (no etcd client), the dns dir's files of other hosts' names. */
function overlayUpkeep(dataRoot: string, dnsDir: string): OverlayUpkeep {
  const states = new LowdbOverlayStates(dataRoot);
  const agents = new ProcessOverlayAgents(dnsDir);
  return {
    networks: async () =>
      Promise.all(
        (await states.list()).map(async (s) => ({
          namespace: s.namespace,
          name: s.name,
          running: await agents.running(states.dir(s.namespace, s.name)),
        })),
      ),
    startAgent: (namespace, name) => agents.ensure(states.dir(namespace, name)),
    remoteFiles: async () =>
      (await readdir(dnsDir).catch(() => [] as string[])).flatMap((file) => {
        const of = remoteRecordsFileNetwork(file);
        return of ? [{ namespace: of.namespace, name: of.network, file: join(dnsDir, file) }] : [];
      }),
    removeRemoteFile: (file) => rm(file, { force: true }),
  };
}
