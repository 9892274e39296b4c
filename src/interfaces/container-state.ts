/** Per-container files in the state dir that networking reads and writes. */

import type { NerdctlPortMapping } from '../domain/publish/stored-port-mapping.ts';

export interface NetworkConfigFile {
  portMappings: NerdctlPortMapping[];
}

export interface Lifecycle {
  started_at?: string;
  /** The container's init pid as the createRuntime hook saw it (liveness checks without containerd). */
  pid?: number;
  /** Set when createRuntime failed: runc still sends postStop, which must then do nothing. */
  create_error?: boolean;
  /** Set by stop/kill: the container no longer holds its published ports. Cleared at the next start. */
  stopped_at?: string;
}

export interface ContainerStateFiles {
  readNetworkConfig(stateDir: string): Promise<NetworkConfigFile>;
  writeNetworkConfig(stateDir: string, config: NetworkConfigFile): Promise<void>;
  readLifecycle(stateDir: string): Promise<Lifecycle>;
  writeLifecycle(stateDir: string, lifecycle: Lifecycle): Promise<void>;
}
