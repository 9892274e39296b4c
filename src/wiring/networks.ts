/** Composition of network management (`tsnerd network …`, the default network for run and the hook). */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Settings } from '../domain/settings.ts';
import type { NetworksDeps } from '../app/networks/deps.ts';
import { NetworkStore } from '../app/networks/network-store.ts';
import type { ContainerIndex } from '../interfaces/container-index.ts';
import { ConfDirStore } from '../adapters/store/conf-dir-store.ts';
import { LinuxNetworkHost } from '../adapters/host/linux-network-host.ts';
import { StoreLayout } from '../domain/store-layout.ts';
import { RunningContainerIndex } from '../adapters/store/running-container-index.ts';
import { FileHostsStore } from '../adapters/store/hosts-store.ts';
import { FileContainerStateFiles } from '../adapters/store/container-state-files.ts';
import { LowdbBridgeRegistry } from '../adapters/store/lowdb-bridge-registry.ts';
import { requestStderr } from '../adapters/host/request-env.ts';
import { faultPoint } from '../adapters/host/fault-injection.ts';

/**
 * etcd3 and gRPC are loaded only when an overlay network is involved. The
 * path is computed so that the bundlers (hook, fast path) leave it out:
 * dist/wiring/overlay.js, or overlay.ts when the sources run directly.
 */
const OVERLAY_WIRING = new URL(`./overlay${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;

/** Running containers found in the data store pin their networks. */
function runningContainers(settings: Pick<Settings, 'dataRoot' | 'address'>): ContainerIndex {
  const layout = new StoreLayout(settings.dataRoot, settings.address);
  return new RunningContainerIndex(layout, new FileHostsStore(layout), new FileContainerStateFiles());
}

export interface NetworkWiringOptions {
  containers?: ContainerIndex;
  warn?: (line: string) => void;
}

export function createNetworkDeps(
  settings: Pick<Settings, 'cniNetconfPath' | 'cniPath' | 'namespace' | 'dataRoot' | 'address' | 'bridgeIp'>,
  options: NetworkWiringOptions = {},
): NetworksDeps {
  return {
    confDir: new ConfDirStore(settings.cniNetconfPath),
    host: new LinuxNetworkHost(settings.cniPath),
    containers: options.containers ?? runningContainers(settings),
    netconfPath: settings.cniNetconfPath,
    cniPath: settings.cniPath,
    namespace: settings.namespace,
    bridgeIp: settings.bridgeIp,
    bridges: new LowdbBridgeRegistry(new StoreLayout(settings.dataRoot, settings.address).root),
    warn: options.warn ?? ((line) => requestStderr().write(`tsnerd: warning: ${line}\n`)),
    overlay: async () => ((await import(OVERLAY_WIRING)) as typeof import('./overlay.ts')).createOverlayDeps(settings),
    faultPoint,
  };
}

export function createNetworkStore(
  settings: Pick<Settings, 'cniNetconfPath' | 'cniPath' | 'namespace' | 'dataRoot' | 'address' | 'bridgeIp'>,
  options: NetworkWiringOptions = {},
): NetworkStore {
  return new NetworkStore(createNetworkDeps(settings, options));
}
