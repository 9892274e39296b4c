import type { NerdctlPortMapping } from '../domain/publish/stored-port-mapping.ts';

/** Ports held for one container, as found on the host. */
export interface HeldReservation {
  stateDir: string;
  /** e.g. "tcp 127.0.0.1:8080" */
  ports: string[];
}

/** Holds a running container's published host ports open so nothing else can bind them. */
export interface PortReserver {
  start(mappings: readonly NerdctlPortMapping[], stateDir: string): Promise<void>;
  /** Idempotent. */
  stop(stateDir: string): Promise<void>;
  /**
   * network gc: the reservations of containers under `root` (a data store's
   * containers dir) whose state dir is not in `keep` are released (listed only
   * with dryRun), whatever happened to their state dir or pid file.
   */
  reconcile(root: string, keep: ReadonlySet<string>, options: { dryRun: boolean }): Promise<HeldReservation[]>;
}
