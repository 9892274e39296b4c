/**
 * The DnsRegistry over the data store: the record set is a lowdb document,
 * `<root>/dns/records.json` (replaced atomically: a temp file renamed, so the resolver
 * never reads half a file), and the resolver process is started and stopped
 * by process-dns-server.ts. Every change, and the start that follows it, holds
 * `<root>/dns/dns.lock` (flock), as does the resolver when it exits for want of
 * containers: a join cannot miss a resolver that is exiting, and two joins
 * never start two resolvers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TextFileSync } from '../store/lowdb-files.ts';
import { internal } from '../../domain/errors.ts';
import {
  applyJoin,
  applyLeave,
  emptyRecordSet,
  hasEndpoints,
  networkKey,
  parseRecordSet,
  type DnsJoin,
  type DnsRecordSet,
} from '../../domain/dns/records.ts';
import type { DnsJoined, DnsRegistry } from '../../interfaces/dns-registry.ts';
import { withFlock } from '../store/flock.ts';
import { dnsServerPid, ensureDnsServer } from './process-dns-server.ts';
import { assertGatewayPortsFree, warmUpPortCheck } from './gateway-port.ts';
import { StoreDnsRules } from './dns-rules.ts';

export const DNS_RECORDS_FILE = 'records.json';
/** Also taken by the resolver before it exits for want of containers. */
const LOCK_FILE = 'dns.lock';

export class StoreDnsRegistry implements DnsRegistry {
  private readonly dir: string;
  private readonly port: number | undefined;
  private readonly rules: StoreDnsRules;
  private readonly log: (line: string) => void;

  /** `port`: another port than 53, for tests and benchmarks. */
  constructor(dnsDir: string, opts: { port?: number; log?: (line: string) => void } = {}) {
    this.dir = dnsDir;
    this.port = opts.port;
    this.rules = new StoreDnsRules(dnsDir);
    this.log = opts.log ?? (() => undefined);
  }

  join(joining: DnsJoin, joined?: DnsJoined): Promise<void> {
    return this.locked(async () => {
      const set = this.read();
      // A gateway new to the records (the network's first container): is its port 53 free for the resolver?
      const known = new Set(Object.values(set.networks).flatMap((n) => n.gateways));
      const fresh = joining.endpoints.flatMap((e) =>
        e.record.gateways.filter((g) => !known.has(g)).map((gateway) => ({ network: e.network, gateway })),
      );
      if (fresh.length > 0) await assertGatewayPortsFree(fresh, this.port ?? 53, () => dnsServerPid(this.dir));
      // A network new to the records: its rules in INPUT, unless known to be there (a cache: later containers run nothing).
      const newcomers = joining.endpoints.filter((e) => set.networks[networkKey(joining.namespace, e.network)] === undefined);
      const specs = newcomers.flatMap((e) => (e.rules ? [{ ...e.rules, port: this.port ?? e.rules.port }] : []));
      const { made, errors } = await this.rules.ensure(specs, joined);
      for (const e of errors) this.log(`DNS rules: ${e}`);
      if (made.length > 0) this.log(`DNS rules made for ${made.join(', ')}`);
      this.update((s) => applyJoin(s, joining));
      await ensureDnsServer(this.dir, this.port === undefined ? {} : { port: this.port });
    });
  }

  prepareJoin(): void {
    // After what the caller set going in this turn of the event loop (the first plugin's spawn).
    setImmediate(() => void warmUpPortCheck());
  }

  async leave(namespace: string, id: string, undo?: DnsJoined): Promise<void> {
    const unmake = undo?.rulesMade ?? [];
    if (unmake.length > 0) return this.locked(() => this.undoJoin(namespace, id, unmake));
    // Most containers have no records (no DNS network): no lock for them (~5 ms of each postStop).
    if (!existsSync(join(this.dir, DNS_RECORDS_FILE))) return;
    const prefix = `${namespace}/${id}/`;
    if (!Object.keys(this.read().endpoints).some((key) => key.startsWith(prefix))) return;
    // The resolver exits by itself once no container is left (src/dns-server/main.ts, under the same lock).
    await this.locked(async () => this.update((s) => applyLeave(s, namespace, id)));
  }

  /**
   * The rollback of a join that made rules: the records left, then the rules of each bridge whose
   * gateways no network in the records has any more (another container that joined since keeps them).
   */
  private async undoJoin(namespace: string, id: string, bridges: readonly string[]): Promise<void> {
    this.update((s) => applyLeave(s, namespace, id));
    const served = new Set(Object.values(this.read().networks).flatMap((n) => n.gateways));
    const unused = bridges.filter((b) => !this.rules.gateways(b).some((g) => served.has(g)));
    await this.rules.remove(unused);
    if (unused.length > 0) this.log(`DNS rules removed for ${unused.join(', ')}`);
  }

  reloadRules(): Promise<string[]> {
    return this.locked(() => this.rules.reload());
  }

  async ruleBridges(): Promise<string[]> {
    return this.rules.bridges();
  }

  forgetRules(bridges: readonly string[]): Promise<void> {
    return this.locked(async () => this.rules.forget(bridges));
  }

  async containers(): Promise<{ namespace: string; id: string; names: string[] }[]> {
    if (!existsSync(join(this.dir, DNS_RECORDS_FILE))) return [];
    const byId = new Map<string, { namespace: string; id: string; names: string[] }>();
    for (const e of Object.values(this.read().endpoints)) {
      const key = `${e.namespace}/${e.id}`;
      const c = byId.get(key) ?? { namespace: e.namespace, id: e.id, names: [] };
      c.names = [...new Set([...c.names, ...e.names, ...e.aliases])];
      byId.set(key, c);
    }
    return [...byId.values()];
  }

  async ensureServing(): Promise<void> {
    if (!existsSync(join(this.dir, DNS_RECORDS_FILE))) return;
    await this.locked(async () => {
      if (hasEndpoints(this.read())) await ensureDnsServer(this.dir, this.port === undefined ? {} : { port: this.port });
    });
  }

  async names(namespace: string, id: string): Promise<Record<string, string[]>> {
    if (!existsSync(join(this.dir, DNS_RECORDS_FILE))) return {};
    const out: Record<string, string[]> = {};
    for (const e of Object.values(this.read().endpoints)) {
      if (e.namespace === namespace && e.id === id) out[e.network] = [...e.names, ...e.aliases];
    }
    return out;
  }

  /**
   * Read, change, write: the caller holds the lock. The text is made once (~80 KB with 200
   * containers): compared with the file's and written as it is; unchanged (a leave of a
   * container without DNS), no write and no reload in the resolver.
   */
  private update(change: (set: DnsRecordSet) => DnsRecordSet): void {
    const file = this.file();
    const read = file.read();
    const next = change(this.parse(read));
    const text = JSON.stringify(next, null, 2);
    if (text !== read) file.write(text);
  }

  /**
   * The record set, read synchronously: one small document under the lock, on the path of
   * every start (an async read and write are ~9 thread-pool round trips and loop turns).
   */
  private read(): DnsRecordSet {
    return this.parse(this.file().read());
  }

  /**
   * lowdb's synchronous text file: written to a temp file and renamed, so the resolver never
   * reads half a file; as lowdb's JSONFile writes it (2-space indents).
   */
  private file(): TextFileSync {
    return new TextFileSync(join(this.dir, DNS_RECORDS_FILE));
  }

  private parse(text: string | null): DnsRecordSet {
    try {
      return text === null ? emptyRecordSet() : parseRecordSet(JSON.parse(text));
    } catch (err) {
      throw internal(`DNS record set "${join(this.dir, DNS_RECORDS_FILE)}" is corrupt: ${(err as Error).message}`);
    }
  }

  /** The lock every change of the records takes. */
  get lockFile(): string {
    return join(this.dir, LOCK_FILE);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withFlock(this.lockFile, fn);
  }
}
