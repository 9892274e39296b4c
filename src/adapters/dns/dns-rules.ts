/**
 * The DNS rules this data store made (domain/netfilter/dns-input.ts), remembered in
 * `<root>/dns/rules.json` (lowdb), per bridge: the rules' spec, and once they were made, the
 * boot and the bridge's ifindex then. The caller (StoreDnsRegistry) holds `dns.lock`.
 *
 * - **A cache.** A network's first container after an idle spell finds its bridge made in this
 *   boot, same ifindex (not deleted and created again), same spec: nothing to run. So only a
 *   bridge's first container pays for the rules (a listing and an iptables-restore per family).
 *   A firewall flush is not seen here: `network reload` puts every remembered rule back.
 * - **An ownership record.** The entry is written before the rules are made, so a kill between
 *   leaves an entry naming them: `network gc` removes the rules of remembered bridges that are gone.
 * - **The rules a bridge has.** A first container whose spec differs from the remembered one (its
 *   `dns_bind_port` changed, or the network was created again with other subnets) replaces them: the
 *   old ones are removed (and put back by the rollback of a start that fails) before the new ones are made.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextFileSync } from '../store/lowdb-files.ts';
import type { DnsInputSpec } from '../../domain/netfilter/dns-input.ts';
import type { DnsJoined } from '../../interfaces/dns-registry.ts';
import { bootId } from '../host/proc.ts';
import { ensureDnsInputRules, removeDnsInputRules } from '../netfilter/dns-input-rules.ts';

export const DNS_RULES_FILE = 'rules.json';

interface RuleEntry {
  spec: DnsInputSpec;
  /** Set once the rules were made (or found): this boot's, on the bridge with this ifindex. */
  made?: { boot: string; ifindex: number };
}

interface RuleBook {
  bridges: Record<string, RuleEntry>;
}

/** What the rules and the links are read and changed through (the host's iptables and /sys; fakes in unit tests). */
export interface DnsRuleHost {
  /** Makes the rules the host lacks, telling `made` each bridge as soon as rules of it were inserted; the bridges it inserted rules for. */
  ensure(specs: readonly DnsInputSpec[], made?: (bridge: string) => void): Promise<string[]>;
  remove(bridge: string): Promise<unknown>;
  /** The link's ifindex as /sys shows it (undefined: not there, or another network namespace's /sys). */
  ifindex(name: string): number | undefined;
  /** Whether this network namespace has the link. */
  isHere(name: string): boolean;
  boot(): string;
}

const LINUX: DnsRuleHost = {
  ensure: ensureDnsInputRules,
  remove: removeDnsInputRules,
  ifindex: ifindexOf,
  isHere: linkIsHere,
  boot: bootId,
};

export class StoreDnsRules {
  private readonly file: string;
  private readonly host: DnsRuleHost;

  constructor(dnsDir: string, host: DnsRuleHost = LINUX) {
    this.file = join(dnsDir, DNS_RULES_FILE);
    this.host = host;
  }

  /**
   * Makes the rules of `specs` that are not known to be made on their bridge as it is now.
   * Returns the bridges it inserted rules for (the rollback of the join removes them; each is
   * also added to `joined` as soon as its rules exist, should anything after fail), the
   * failures' messages and the bridges whose rules could not all be made (the caller decides: on
   * port 53 only a host whose INPUT drops by default needs them; another port needs its DNAT).
   * A bridge remembered with another spec has its rules replaced: the old spec goes to `joined` first.
   */
  async ensure(specs: readonly DnsInputSpec[], joined?: DnsJoined): Promise<{ made: string[]; errors: string[]; failed: string[] }> {
    const out = { made: [] as string[], errors: [] as string[], failed: [] as string[] };
    if (specs.length === 0) return out;
    const book = this.read();
    const boot = this.host.boot();
    for (const spec of new Map(specs.map((s) => [s.bridge, s])).values()) {
      const ifindex = this.host.ifindex(spec.bridge);
      const known = book.bridges[spec.bridge];
      if (known?.made && known.made.boot === boot && known.made.ifindex === ifindex && sameSpec(known.spec, spec)) continue;
      // Recorded before the rules exist: network gc finds rules a kill left, by this entry.
      book.bridges[spec.bridge] = { spec };
      this.write(book);
      const made = (bridge: string): void => {
        if (!out.made.includes(bridge)) out.made.push(bridge);
        if (joined && !joined.rulesMade.includes(bridge)) joined.rulesMade.push(bridge);
      };
      try {
        if (known !== undefined && !sameSpec(known.spec, spec)) {
          // Another port or other subnets: the old rules go first (a DNAT to a port nobody serves any more).
          if (joined) (joined.rulesReplaced ??= []).push(known.spec);
          await this.host.remove(spec.bridge);
        }
        for (const b of await this.host.ensure([spec], made)) made(b);
      } catch (err) {
        out.errors.push((err as Error).message);
        out.failed.push(spec.bridge);
        continue;
      }
      // In a network namespace of its own /sys shows another one's links: no ifindex, never taken as made.
      if (ifindex !== undefined && boot !== '') {
        book.bridges[spec.bridge] = { spec, made: { boot, ifindex } };
        this.write(book);
      }
    }
    return out;
  }

  /**
   * The rollback of a replacement (ensure above): the rules of `spec`'s bridge as they were, the
   * new ones removed and the old ones made again where missing, and the old spec remembered.
   */
  async putBack(spec: DnsInputSpec): Promise<void> {
    const book = this.read();
    book.bridges[spec.bridge] = { spec };
    this.write(book);
    await this.host.remove(spec.bridge);
    await this.host.ensure([spec]);
  }

  /** Removes the rules of `bridges` and forgets them. */
  async remove(bridges: readonly string[]): Promise<void> {
    if (bridges.length === 0) return;
    const book = this.read();
    for (const bridge of bridges) {
      await this.host.remove(bridge);
      delete book.bridges[bridge];
      this.write(book);
    }
  }

  /** Forgets `bridges` (their rules are gone with them). */
  forget(bridges: readonly string[]): void {
    const book = this.read();
    const before = Object.keys(book.bridges).length;
    for (const b of bridges) delete book.bridges[b];
    if (Object.keys(book.bridges).length !== before) this.write(book);
  }

  /** The gateways of each remembered bridge's rules. */
  gateways(bridge: string): string[] {
    return [...new Set(this.read().bridges[bridge]?.spec.pairs.map((p) => p.gateway) ?? [])];
  }

  bridges(): string[] {
    return Object.keys(this.read().bridges);
  }

  /**
   * `network reload`: every remembered rule of a bridge that is still the one it was made on
   * (here, same boot and ifindex; only here when /sys is another namespace's), made again where
   * missing (one listing and at most one iptables-restore per family in all).
   * Returns the bridges whose rules were put back.
   */
  async reload(): Promise<string[]> {
    const book = this.read();
    const boot = this.host.boot();
    const live = Object.entries(book.bridges).filter(([bridge, e]) => {
      if (!this.host.isHere(bridge)) return false;
      const ifindex = this.host.ifindex(bridge);
      // /sys of another network namespace (a test's "host"): the link is here, its ifindex unknown.
      return ifindex === undefined || (e.made !== undefined && e.made.boot === boot && e.made.ifindex === ifindex);
    });
    return this.host.ensure(live.map(([, e]) => e.spec));
  }

  private read(): RuleBook {
    try {
      const text = new TextFileSync(this.file).read();
      const parsed = text === null ? undefined : (JSON.parse(text) as Partial<RuleBook>);
      if (parsed && typeof parsed.bridges === 'object' && parsed.bridges !== null) return { bridges: { ...parsed.bridges } };
    } catch {
      // damaged: nothing is known, the next first container of each network makes its rules again
    }
    return { bridges: {} };
  }

  private write(book: RuleBook): void {
    new TextFileSync(this.file).write(JSON.stringify(book, null, 2));
  }
}

function sameSpec(a: DnsInputSpec, b: DnsInputSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Whether this network namespace has the link: /proc/self/net/dev is the reader's namespace's,
 * where /sys is the one of whoever mounted it (nsenter --net does not remount it).
 */
function linkIsHere(name: string): boolean {
  try {
    return readFileSync('/proc/self/net/dev', 'utf8')
      .split('\n')
      .some((l) => l.trimStart().startsWith(`${name}:`));
  } catch {
    return false;
  }
}

/** The link's ifindex, undefined when /sys does not show it (no such link, or another network namespace's /sys). */
function ifindexOf(name: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
