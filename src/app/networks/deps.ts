import type { ContainerIndex } from '../../interfaces/container-index.ts';
import type { CniUsers } from '../../interfaces/cni-users.ts';
import type { BridgeRegistry } from '../../interfaces/bridge-registry.ts';
import type { NetworkConfDir } from '../../interfaces/network-conf-dir.ts';
import type { NetworkHost } from '../../interfaces/network-host.ts';
import type { OverlayDeps } from '../../interfaces/overlay.ts';

export interface NetworksDeps {
  confDir: NetworkConfDir;
  host: NetworkHost;
  containers: ContainerIndex;
  /** Users of a network by the CNI result cache (any tool's containers); rm and prune only. */
  cniUsers?: CniUsers;
  /** NETCONFPATH, where new conflists go. */
  netconfPath: string;
  /** CNI_PATH as configured, for the missing-plugin message. */
  cniPath: string;
  namespace: string;
  /** `--bridge-ip`: the default network's gateway/prefix when it is created (unset: 10.4.0.1/24). */
  bridgeIp?: string | undefined;
  /** Non-fatal problems (skipped broken files, ...), one line each. */
  warn: (line: string) => void;
  /** The bridges of the networks tsnerd creates (gc's mark of which idle bridges are its own). */
  bridges?: BridgeRegistry;
  /** Overlay networks (etcd, VXLAN), loaded only when one is involved. */
  overlay?: () => Promise<OverlayDeps>;
  /** Test-only fault injection at a named step (see ContainerHost.faultPoint). */
  faultPoint?: (step: string) => void;
}
