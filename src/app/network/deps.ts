import type { ContainerIndex } from '../../ports/container-index.ts';
import type { NetworkConfDir } from '../../ports/network-conf-dir.ts';
import type { NetworkHost } from '../../ports/network-host.ts';

export interface NetworkDeps {
  confDir: NetworkConfDir;
  host: NetworkHost;
  containers: ContainerIndex;
  /** NETCONFPATH, where new conflists go. */
  netconfPath: string;
  /** CNI_PATH as configured, for the missing-plugin message. */
  cniPath: string;
  namespace: string;
  /** Non-fatal problems (skipped broken files, ...), one line each. */
  warn: (line: string) => void;
}
