import type { DnsJoin } from '../domain/dns/records.ts';

/**
 * The embedded resolver's records and its process: the record set is the
 * source of truth, the process only serves it, so a dead resolver is started
 * again by the next join and serves the same answers.
 */
export interface DnsRegistry {
  /** Records the container's endpoints (replacing earlier ones) and makes sure the resolver runs. */
  join(join: DnsJoin): Promise<void>;
  /**
   * Called while a container's ADD runs on a network with DNS, nothing waiting for it: readies what
   * the join after it uses (the gateway port check's first socket binds in this process, ~6 ms once).
   */
  prepareJoin?(): void;
  /** Drops the container's endpoints; stops the resolver once no endpoint is left. Idempotent. */
  leave(namespace: string, id: string): Promise<void>;
  /** The containers with records, and their names (for `network gc`). */
  containers(): Promise<{ namespace: string; id: string; names: string[] }[]>;
  /** Starts the resolver if records are left and none runs (after a reboot or a kill; `network gc`). */
  ensureServing(): Promise<void>;
  /** The names (and aliases) the resolver answers for the container, per network; empty without records. */
  names(namespace: string, id: string): Promise<Record<string, string[]>>;
}
