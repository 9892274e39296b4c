/** Composition of network management (`tsnerd network …`, the default network for run and the hook). */
import type { Settings } from '../domain/settings.ts';
import type { NetworkDeps } from '../app/network/deps.ts';
import { NetworkStore } from '../app/network/network-store.ts';
import type { ContainerIndex } from '../ports/container-index.ts';
import { ConfDirStore } from '../adapters/store/conf-dir-store.ts';
import { LinuxNetworkHost } from '../adapters/host/linux-network-host.ts';

/** Until containers record their networks, nothing pins a network. */
const NO_CONTAINERS: ContainerIndex = { attachments: async () => [] };

export interface NetworkWiringOptions {
  containers?: ContainerIndex;
  warn?: (line: string) => void;
}

export function createNetworkDeps(
  settings: Pick<Settings, 'cniNetconfPath' | 'cniPath' | 'namespace'>,
  options: NetworkWiringOptions = {},
): NetworkDeps {
  return {
    confDir: new ConfDirStore(settings.cniNetconfPath),
    host: new LinuxNetworkHost(settings.cniPath),
    containers: options.containers ?? NO_CONTAINERS,
    netconfPath: settings.cniNetconfPath,
    cniPath: settings.cniPath,
    namespace: settings.namespace,
    warn: options.warn ?? ((line) => process.stderr.write(`tsnerd: warning: ${line}\n`)),
  };
}

export function createNetworkStore(
  settings: Pick<Settings, 'cniNetconfPath' | 'cniPath' | 'namespace'>,
  options: NetworkWiringOptions = {},
): NetworkStore {
  return new NetworkStore(createNetworkDeps(settings, options));
}
