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
import { LowSync } from 'lowdb';
import { DataFileSync } from 'lowdb/node';
import { internal } from '../../domain/errors.ts';
import {
  applyJoin,
  applyLeave,
  emptyRecordSet,
  hasEndpoints,
  parseRecordSet,
  type DnsJoin,
  type DnsRecordSet,
} from '../../domain/dns/records.ts';
import type { DnsRegistry } from '../../interfaces/dns-registry.ts';
import { withFlock } from '../store/flock.ts';
import { ensureDnsServer } from './process-dns-server.ts';

export const DNS_RECORDS_FILE = 'records.json';
/** Also taken by the resolver before it exits for want of containers. */
const LOCK_FILE = 'dns.lock';

export class StoreDnsRegistry implements DnsRegistry {
  private readonly dir: string;
  private readonly port: number | undefined;

  /** `port`: another port than 53, for tests and benchmarks. */
  constructor(dnsDir: string, port?: number) {
    this.dir = dnsDir;
    this.port = port;
  }

  join(joining: DnsJoin): Promise<void> {
    return this.locked(async () => {
      await this.update((set) => applyJoin(set, joining));
      await ensureDnsServer(this.dir, this.port === undefined ? {} : { port: this.port });
    });
  }

  async leave(namespace: string, id: string): Promise<void> {
    // Most containers have no records (no DNS network): no lock for them (~5 ms of each postStop).
    if (!existsSync(join(this.dir, DNS_RECORDS_FILE))) return;
    const prefix = `${namespace}/${id}/`;
    if (!Object.keys((await this.open()).data.endpoints).some((key) => key.startsWith(prefix))) return;
    // The resolver exits by itself once no container is left (src/dns-server/main.ts, under the same lock).
    await this.locked(() => this.update((s) => applyLeave(s, namespace, id)));
  }

  async containers(): Promise<{ namespace: string; id: string; names: string[] }[]> {
    if (!existsSync(join(this.dir, DNS_RECORDS_FILE))) return [];
    const byId = new Map<string, { namespace: string; id: string; names: string[] }>();
    for (const e of Object.values((await this.open()).data.endpoints)) {
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
      if (hasEndpoints((await this.open()).data)) await ensureDnsServer(this.dir, this.port === undefined ? {} : { port: this.port });
    });
  }

  async names(namespace: string, id: string): Promise<Record<string, string[]>> {
    if (!existsSync(join(this.dir, DNS_RECORDS_FILE))) return {};
    const out: Record<string, string[]> = {};
    for (const e of Object.values((await this.open()).data.endpoints)) {
      if (e.namespace === namespace && e.id === id) out[e.network] = [...e.names, ...e.aliases];
    }
    return out;
  }

  private async update(change: (set: DnsRecordSet) => DnsRecordSet): Promise<DnsRecordSet> {
    // The text is made once (~80 KB with 200 containers): compared with the file's and written as it is.
    const file = { read: undefined as string | undefined, next: '' };
    const db = await this.open(file);
    db.data = change(db.data);
    file.next = JSON.stringify(db.data, null, 2);
    // Unchanged (a leave of a container without DNS): no write, no reload in the resolver.
    if (file.next !== file.read) db.write();
    return db.data;
  }

  /**
   * Read (and written, by update) synchronously: one small document under the lock, on the path
   * of every start (an async read and write are ~9 thread-pool round trips and loop turns).
   * Written to a temp file and renamed, so the resolver never reads half a file; as lowdb's
   * JSONFile writes it (2-space indents). `text`: where update keeps the text read and finds the one to write.
   */
  private async open(text?: { read: string | undefined; next: string }): Promise<LowSync<DnsRecordSet>> {
    const path = join(this.dir, DNS_RECORDS_FILE);
    const adapter = new DataFileSync<DnsRecordSet>(path, {
      parse: (raw) => {
        if (text) text.read = raw;
        return JSON.parse(raw) as DnsRecordSet;
      },
      stringify: (data) => text?.next || JSON.stringify(data, null, 2),
    });
    const db = new LowSync<DnsRecordSet>(adapter, emptyRecordSet());
    db.read();
    try {
      db.data = parseRecordSet(db.data);
    } catch (err) {
      throw internal(`DNS record set "${path}" is corrupt: ${(err as Error).message}`);
    }
    return db;
  }

  /** The lock every change of the records takes. */
  get lockFile(): string {
    return join(this.dir, LOCK_FILE);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withFlock(this.lockFile, fn);
  }
}
