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
import { conflict, internal } from '../../domain/errors.ts';
import {
  applyJoin,
  applyLeave,
  emptyRecordSet,
  hasEndpoints,
  networkKey,
  parseRecordSet,
  type DnsJoin,
  type DnsNetworkRecord,
  type DnsRecordSet,
} from '../../domain/dns/records.ts';
import { DNS_PORT } from '../../domain/netfilter/dns-input.ts';
import type { DnsJoined, DnsRegistry } from '../../interfaces/dns-registry.ts';
import { withFlock } from '../store/flock.ts';
import { dnsServerPid, ensureDnsServer } from './process-dns-server.ts';
import { assertGatewayPortsFree, warmUpPortCheck, type GatewayToCheck } from './gateway-port.ts';
import { StoreDnsRules, type DnsRuleHost } from './dns-rules.ts';

export const DNS_RECORDS_FILE = 'records.json';

/** The port the resolver serves a network on: its record's, 53 when it has none. */
const recordPort = (n: DnsNetworkRecord): number => n.port ?? DNS_PORT;
/** Also taken by the resolver before it exits for want of containers. */
const LOCK_FILE = 'dns.lock';

/** What a join does on the host besides the rules: the real ones by default, fakes in unit tests. */
export interface DnsJoinHost {
  /** Throws a conflict when a gateway's port (each its own) is another process's (gateway-port.ts). */
  checkPorts(gateways: readonly GatewayToCheck[]): Promise<void>;
  /** Starts the resolver unless one runs (`networkPorts`: one that serves networks on their own ports, process-dns-server.ts). */
  serve(networkPorts: boolean): Promise<unknown>;
}

export class StoreDnsRegistry implements DnsRegistry {
  private readonly dir: string;
  private readonly bindPort: number;
  private readonly rules: StoreDnsRules;
  private readonly host: DnsJoinHost;
  private readonly log: (line: string) => void;

  /**
   * `bindPort`: `dns_bind_port`, the port the resolver listens on for the networks that enter the
   * records from now on (53: the containers' port itself; any other: reached through a DNAT of
   * gateway:53, docs/dns.md). A network keeps the port it entered with until its last container leaves.
   */
  constructor(
    dnsDir: string,
    opts: { bindPort?: number | undefined; log?: (line: string) => void; rulesHost?: DnsRuleHost; joinHost?: DnsJoinHost } = {},
  ) {
    this.dir = dnsDir;
    this.bindPort = opts.bindPort ?? DNS_PORT;
    this.rules = new StoreDnsRules(dnsDir, opts.rulesHost);
    this.host = opts.joinHost ?? {
      checkPorts: (gateways) => assertGatewayPortsFree(gateways, DNS_PORT, () => dnsServerPid(dnsDir)),
      serve: (networkPorts) => ensureDnsServer(dnsDir, { networkPorts }),
    };
    this.log = opts.log ?? (() => undefined);
  }

  join(joining: DnsJoin, joined?: DnsJoined): Promise<void> {
    return this.locked(async () => {
      const set = this.read();
      // Each network's port: the one it has in the records (it keeps it while containers use it), else the
      // one its gateway is served on already (another namespace's network on the bridge), else dns_bind_port.
      const served = new Map(Object.values(set.networks).flatMap((n) => n.gateways.map((g) => [g, recordPort(n)] as const)));
      const endpoints = joining.endpoints.map((e) => {
        const recorded = set.networks[networkKey(joining.namespace, e.network)];
        const port = recorded
          ? recordPort(recorded)
          : (e.record.gateways.map((g) => served.get(g)).find((p) => p !== undefined) ?? this.bindPort);
        const { port: _ignored, ...record } = e.record;
        return { ...e, record: port === DNS_PORT ? record : { ...record, port } };
      });
      // A gateway new to the records (the network's first container): is its port free for the resolver?
      const fresh = endpoints.flatMap((e) =>
        e.record.gateways.filter((g) => !served.has(g)).map((gateway) => ({ network: e.network, gateway, port: recordPort(e.record) })),
      );
      if (fresh.length > 0) await this.host.checkPorts(fresh);
      // A network new to the records: its rules in INPUT (and nat PREROUTING for another port than 53), unless
      // known to be there (a cache: later containers run nothing).
      const newcomers = endpoints.filter((e) => set.networks[networkKey(joining.namespace, e.network)] === undefined);
      const specs = newcomers.flatMap((e) => (e.rules ? [{ ...e.rules, port: recordPort(e.record) }] : []));
      const { made, errors, failed } = await this.rules.ensure(specs, joined);
      for (const e of errors) this.log(`DNS rules: ${e}`);
      if (made.length > 0) this.log(`DNS rules made for ${made.join(', ')}`);
      // On another port than 53 the DNAT is the only way in: without it the containers' queries reach whatever
      // has the gateway's port 53 (the server dns_bind_port was set for). The start fails as for a taken port.
      const unreachable = newcomers.find((e) => e.rules && failed.includes(e.rules.bridge) && recordPort(e.record) !== DNS_PORT);
      if (unreachable)
        throw conflict(
          `cannot serve DNS on network "${unreachable.network}": the rules taking its gateway's port 53 to dns_bind_port ` +
            `${recordPort(unreachable.record)} could not be made (${errors.join('; ')}); create the network with --disable-dns to do without`,
        );
      this.update((s) => applyJoin(s, { ...joining, endpoints }));
      await this.host.serve(endpoints.some((e) => 'port' in e.record));
    });
  }

  prepareJoin(): void {
    // After what the caller set going in this turn of the event loop (the first plugin's spawn).
    setImmediate(() => void warmUpPortCheck());
  }

  async leave(namespace: string, id: string, undo?: DnsJoined): Promise<void> {
    if ((undo?.rulesMade.length ?? 0) > 0 || (undo?.rulesReplaced?.length ?? 0) > 0)
      return this.locked(() => this.undoJoin(namespace, id, undo!));
    // Most containers have no records (no DNS network): no lock for them (~5 ms of each postStop).
    if (!existsSync(join(this.dir, DNS_RECORDS_FILE))) return;
    const prefix = `${namespace}/${id}/`;
    if (!Object.keys(this.read().endpoints).some((key) => key.startsWith(prefix))) return;
    // The resolver exits by itself once no container is left (src/dns-server/main.ts, under the same lock).
    await this.locked(async () => this.update((s) => applyLeave(s, namespace, id)));
  }

  /**
   * The rollback of a join that made rules: the records left, then the rules of each bridge whose
   * gateways no network in the records has any more (another container that joined since keeps them),
   * and the rules the join replaced on such a bridge put back.
   */
  private async undoJoin(namespace: string, id: string, undo: DnsJoined): Promise<void> {
    this.update((s) => applyLeave(s, namespace, id));
    const served = new Set(Object.values(this.read().networks).flatMap((n) => n.gateways));
    const replaced = new Map((undo.rulesReplaced ?? []).map((spec) => [spec.bridge, spec]));
    const unused = [...new Set([...undo.rulesMade, ...replaced.keys()])].filter((b) => !this.rules.gateways(b).some((g) => served.has(g)));
    await this.rules.remove(unused.filter((b) => !replaced.has(b)));
    for (const b of unused) {
      const old = replaced.get(b);
      if (old) await this.rules.putBack(old);
    }
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
      const set = this.read();
      if (hasEndpoints(set)) await this.host.serve(Object.values(set.networks).some((n) => n.port !== undefined));
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
