import type { NerdctlPortMapping } from '../domain/publish/stored-port-mapping.ts';

/** Holds a running container's published host ports open so nothing else can bind them. */
export interface PortReserver {
  start(mappings: readonly NerdctlPortMapping[], stateDir: string): Promise<void>;
  /** Idempotent. */
  stop(stateDir: string): Promise<void>;
}
