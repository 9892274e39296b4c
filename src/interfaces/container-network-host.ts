import type { OciHook } from '../domain/oci/spec.ts';
import type { PortMapping, UsedPort } from '../domain/publish/port-mapping.ts';

/** The host side of preparing a container's networking at create time. */
export interface ContainerNetworkHost {
  /** Writes a file that will be bind-mounted (in place, keeping the inode if it exists). */
  writeMountedFile(path: string, content: string): Promise<void>;
  /** Host sockets in use plus ports published by the containers of this data store, but the one in `exceptStateDir`. */
  usedPorts(exceptStateDir?: string): Promise<UsedPort[]>;
  /** Serialises port allocation across tsnerd processes. */
  withPortLock<T>(fn: () => Promise<T>): Promise<T>;
  /** The OCI hook entry for `event`: the running tsnerd with the same global settings. */
  hook(event: 'createRuntime' | 'postStop'): OciHook;
}

/** A running container another one joins with `--net container:<ref>`. */
export interface JoinTarget {
  id: string;
  pid: number;
  stateDir: string;
  hostsPath: string;
}

export type { PortMapping };
