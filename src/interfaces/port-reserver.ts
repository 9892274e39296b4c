import type { NerdctlPortMapping } from '../domain/publish/stored-port-mapping.ts';
import type { HostBinding } from '../domain/publish/port-mapping.ts';

/** A running container whose exit on its own must give its network back (the hook's `exited` event). */
export interface WatchedContainer {
  id: string;
  /** Its init process, as the createRuntime hook saw it. */
  pid: number;
  annotations: Record<string, string>;
}

/** Ports held for one container, as found on the host (`network gc`'s report). */
export interface HeldReservation {
  stateDir: string;
  /** e.g. "tcp 127.0.0.1:8080" */
  ports: string[];
}

/** One container's reservation as the holder sees it. */
export interface PortReservation {
  stateDir: string;
  bindings: HostBinding[];
  pid?: number;
  /** Registered ports the holder could not bind again after a restart (taken meanwhile). */
  unbound: HostBinding[];
  /** Its pid is gone and its exit teardown is under way. */
  exiting: boolean;
}

/**
 * Holds running containers' published host ports open so nothing else can bind
 * them, and watches those containers (one host-wide holder per data root).
 */
export interface PortReserver {
  /**
   * Holds mappings' host ports for the container of stateDir, replacing what it
   * held before; with `container`, also watches its init pid and detaches it from
   * its networks when it exits on its own. A port in use fails with "port is already allocated".
   */
  start(mappings: readonly NerdctlPortMapping[], stateDir: string, container?: WatchedContainer): Promise<void>;
  /** Idempotent. With pid, only while the reservation is still that pid's. Resolves whether one went. */
  stop(stateDir: string, opts?: { pid?: number }): Promise<boolean>;
  /** Whether stateDir's reservation is still the one of the container with this pid. */
  holds(stateDir: string, pid: number): Promise<boolean>;
  /**
   * Makes sure a holder runs while anything is registered (a kill -9 leaves the
   * ports unheld until then) and returns what it holds.
   */
  list(): Promise<PortReservation[]>;
  /**
   * network gc: after making sure a holder runs (as list), the reservations of
   * containers under `root` (a data store's containers dir) whose state dir is
   * not in `keep` are released (listed only with dryRun), whatever happened to
   * their state dir.
   */
  reconcile(root: string, keep: ReadonlySet<string>, options: { dryRun: boolean }): Promise<HeldReservation[]>;
}
