/**
 * tsnerd's DNS rules (domain/netfilter/dns-input.ts) in iptables and ip6tables: the ACCEPT rules in
 * the filter table's INPUT chain and, for a resolver on another port than 53 (`dns_bind_port`), the
 * DNAT rules in the nat table's PREROUTING chain.
 */
import {
  DNS_PORT,
  dnsDnatBridges,
  dnsDnatRulesOf,
  dnsInputBridges,
  dnsInputFamilies,
  dnsInputRulesOf,
  missingDnsDnatRules,
  missingDnsInputRules,
  type DnsInputSpec,
  type IpFamily,
} from '../../domain/netfilter/dns-input.ts';
import { internal } from '../../domain/errors.ts';
import { faultPoint } from '../host/fault-injection.ts';
import { runProcess } from '../host/run-process.ts';
import { restoreAll, restoreEach } from './restore.ts';

const TOOL = { 4: 'iptables', 6: 'ip6tables' } as const;

/**
 * Makes the rules of `specs` that the host lacks: per family one listing of INPUT and at most one
 * iptables-restore, and where a spec's port is not 53 one listing of nat PREROUTING and at most one
 * restore, whatever the number of networks (INPUT first: a DNAT never points at a port INPUT drops).
 * `made` is told each bridge as soon as a restore inserted rules of it, before the next one runs
 * (the caller's undo). Returns the bridges it inserted rules for.
 */
export async function ensureDnsInputRules(
  specs: readonly DnsInputSpec[],
  made: (bridge: string) => void = () => undefined,
): Promise<string[]> {
  const out = new Set<string>();
  const apply = async (family: IpFamily, table: 'filter' | 'nat', mine: readonly DnsInputSpec[]): Promise<void> => {
    if (mine.length === 0) return;
    const listed = table === 'filter' ? await inputRules(family) : await preroutingRules(family);
    const bridges = new Set<string>();
    const missing = mine.flatMap((spec) => {
      const m = table === 'filter' ? missingDnsInputRules(spec, family, listed) : missingDnsDnatRules(spec, family, listed);
      if (m.length > 0) bridges.add(spec.bridge);
      return m;
    });
    if (!(await restoreAll(TOOL[family], table, missing)))
      throw internal(
        `cannot add the DNS rules of ${mine.map((s) => s.bridge).join(', ')} to ${TOOL[family]}'s ${table === 'filter' ? 'INPUT' : 'nat PREROUTING'} chain`,
      );
    for (const b of bridges) {
      out.add(b);
      made(b);
    }
  };
  for (const family of [4, 6] as const) {
    const mine = specs.filter((s) => dnsInputFamilies(s).includes(family));
    await apply(family, 'filter', mine);
    if (mine.some((s) => s.port !== DNS_PORT)) faultPoint('dns-rules-dnat'); // INPUT's rules made, the DNAT not yet
    await apply(
      family,
      'nat',
      mine.filter((s) => s.port !== DNS_PORT),
    );
  }
  return [...out];
}

/** Deletes every tsnerd DNS rule of `bridge` (INPUT and nat PREROUTING), in both families; returns how many there were. */
export async function removeDnsInputRules(bridge: string): Promise<number> {
  let removed = 0;
  for (const family of [4, 6] as const) {
    const doomed = dnsInputRulesOf(bridge, await inputRules(family));
    await restoreEach(TOOL[family], 'filter', doomed);
    removed += doomed.length + (await removeDnsDnatRules(bridge, family));
  }
  return removed;
}

/** Deletes tsnerd's DNAT rules of `bridge` in one family's nat PREROUTING (one listing, a restore if any); how many. */
export async function removeDnsDnatRules(bridge: string, family: IpFamily): Promise<number> {
  const doomed = dnsDnatRulesOf(bridge, await preroutingRules(family));
  await restoreEach(TOOL[family], 'nat', doomed);
  return doomed.length;
}

/** The bridges named by tsnerd DNS rules (INPUT or nat PREROUTING), in either family. */
export async function dnsInputRuleBridges(): Promise<Set<string>> {
  const bridges = new Set<string>();
  for (const family of [4, 6] as const) {
    for (const b of dnsInputBridges(await inputRules(family))) bridges.add(b);
    for (const b of dnsDnatBridges(await preroutingRules(family))) bridges.add(b);
  }
  return bridges;
}

async function inputRules(family: IpFamily): Promise<string[]> {
  const listed = await runProcess(TOOL[family], ['-w', '-t', 'filter', '-S', 'INPUT']);
  return listed.exitCode === 0 ? listed.stdout.split('\n') : [];
}

async function preroutingRules(family: IpFamily): Promise<string[]> {
  const listed = await runProcess(TOOL[family], ['-w', '-t', 'nat', '-S', 'PREROUTING']);
  return listed.exitCode === 0 ? listed.stdout.split('\n') : [];
}
