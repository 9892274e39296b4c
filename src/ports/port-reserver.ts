import type { StoredPortMapping } from './container-state.ts';

/** Holds a running container's published host ports open so nothing else can bind them. */
export interface PortReserver {
  start(mappings: readonly StoredPortMapping[], stateDir: string): Promise<void>;
  /** Idempotent. */
  stop(stateDir: string): Promise<void>;
}
