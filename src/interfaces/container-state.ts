/** Per-container files in the state dir that networking reads and writes. */

import type { NerdctlPortMapping } from '../domain/publish/stored-port-mapping.ts';
import type { Endpoint } from '../domain/network/endpoint.ts';

export interface NetworkConfigFile {
  portMappings: NerdctlPortMapping[];
}

export interface Lifecycle {
  started_at?: string;
  /** The container's init pid as the createRuntime hook saw it (liveness checks without containerd). */
  pid?: number;
  /**
   * The init's start time (/proc/<pid>/stat field 22, clock ticks after boot) as the hook saw
   * it: with `pid`, names that very process across pid reuse (rm kills it when containerd lost it).
   */
  pid_start?: string;
  /** Set when createRuntime failed: runc still sends postStop, which must then do nothing. */
  create_error?: boolean;
  /** Set by stop/kill: the container no longer holds its published ports. Cleared at the next start. */
  stopped_at?: string;
  /**
   * tsnerd: when (epoch ms) the CLI starting the task gives up waiting for
   * containerd's tasks.Create; the createRuntime hook rolls back rather than
   * finish an attachment nobody waits for any more.
   */
  start_deadline?: number;
}

/** What the createRuntime hook recorded about its failure. */
export interface HookFailure {
  kind: string;
  message: string;
  /** When it was written: a failure older than the current start is someone else's. */
  at: Date;
}

export interface ContainerStateFiles {
  /** The createRuntime hook's last failure, if it recorded one. */
  readHookFailure(stateDir: string): Promise<HookFailure | undefined>;
  readNetworkConfig(stateDir: string): Promise<NetworkConfigFile>;
  writeNetworkConfig(stateDir: string, config: NetworkConfigFile): Promise<void>;
  readLifecycle(stateDir: string): Promise<Lifecycle>;
  writeLifecycle(stateDir: string, lifecycle: Lifecycle): Promise<void>;
  /**
   * The container's network endpoints (`endpoints.json`); undefined when none
   * were recorded (a container made before they were: derive them from its labels).
   */
  readEndpoints(stateDir: string): Promise<Endpoint[] | undefined>;
  /** Replaces the record; callers hold the CNI lock (or own the container being created). */
  writeEndpoints(stateDir: string, endpoints: readonly Endpoint[]): Promise<void>;
}
