import type { DnsJoin } from '../domain/dns/records.ts';
import type { DnsInputSpec } from '../domain/netfilter/dns-input.ts';

/** What a join changed on the host beyond the records, for its rollback. */
export interface DnsJoined {
  /** Bridges whose DNS rules (domain/netfilter/dns-input.ts) this join made: its network's first container. */
  rulesMade: string[];
  /**
   * The rules a join replaced (a bridge remembered with another spec: `dns_bind_port` changed since
   * its last container), each put back by the rollback.
   */
  rulesReplaced?: DnsInputSpec[];
}

/**
 * The embedded resolver's records and its process: the record set is the
 * source of truth, the process only serves it, so a dead resolver is started
 * again by the next join and serves the same answers.
 */
export interface DnsRegistry {
  /**
   * Records the container's endpoints (replacing earlier ones) and makes sure the resolver runs;
   * for a network new to the records, makes its DNS rules if they are not known to be there, and
   * adds their bridges to `joined` as soon as they exist (for the caller's rollback, even when the
   * join fails afterwards).
   */
  join(join: DnsJoin, joined?: DnsJoined): Promise<void>;
  /**
   * Called while a container's ADD runs on a network with DNS, nothing waiting for it: readies what
   * the join after it uses (the gateway port check's first socket binds in this process, ~6 ms once).
   */
  prepareJoin?(): void;
  /**
   * Drops the container's endpoints; stops the resolver once no endpoint is left. Idempotent.
   * `undo`: the join this leave rolls back: the rules it made go too, unless another container
   * has joined that network since.
   */
  leave(namespace: string, id: string, undo?: DnsJoined): Promise<void>;
  /** `network reload`: the DNS rules this store made, put back where missing; returns the bridges whose rules were missing. */
  reloadRules(): Promise<string[]>;
  /** The bridges this store made DNS rules for (`network gc`: those of a bridge that is gone are stale). */
  ruleBridges(): Promise<string[]>;
  /** Forgets the rules of bridges that are gone (`network gc`, once their rules are removed). */
  forgetRules(bridges: readonly string[]): Promise<void>;
  /** The containers with records, and their names (for `network gc`). */
  containers(): Promise<{ namespace: string; id: string; names: string[] }[]>;
  /** Starts the resolver if records are left and none runs (after a reboot or a kill; `network gc`). */
  ensureServing(): Promise<void>;
  /** The names (and aliases) the resolver answers for the container, per network; empty without records. */
  names(namespace: string, id: string): Promise<Record<string, string[]>>;
}
