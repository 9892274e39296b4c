/** tsnerd's DNS rules in the filter table's INPUT chain (domain/netfilter/dns-input.ts), in iptables and ip6tables. */
import {
  dnsInputBridges,
  dnsInputFamilies,
  dnsInputRulesOf,
  missingDnsInputRules,
  type DnsInputSpec,
  type IpFamily,
} from '../../domain/netfilter/dns-input.ts';
import { internal } from '../../domain/errors.ts';
import { runProcess } from '../host/run-process.ts';
import { restoreAll, restoreEach } from './restore.ts';

const TOOL = { 4: 'iptables', 6: 'ip6tables' } as const;

/**
 * Makes the rules of `specs` that INPUT does not have: one listing and at most one
 * iptables-restore per family, whatever the number of networks. Returns the bridges it
 * inserted rules for.
 */
export async function ensureDnsInputRules(specs: readonly DnsInputSpec[]): Promise<string[]> {
  const made = new Set<string>();
  for (const family of [4, 6] as const) {
    const mine = specs.filter((s) => dnsInputFamilies(s).includes(family));
    if (mine.length === 0) continue;
    const listed = await inputRules(family);
    const missing = mine.flatMap((spec) => {
      const m = missingDnsInputRules(spec, family, listed);
      if (m.length > 0) made.add(spec.bridge);
      return m;
    });
    if (!(await restoreAll(TOOL[family], 'filter', missing)))
      throw internal(`cannot add the DNS rules of ${mine.map((s) => s.bridge).join(', ')} to ${TOOL[family]}'s INPUT chain`);
  }
  return [...made];
}

/** Deletes every tsnerd DNS rule of `bridge`, in both families; returns how many there were. */
export async function removeDnsInputRules(bridge: string): Promise<number> {
  let removed = 0;
  for (const family of [4, 6] as const) {
    const doomed = dnsInputRulesOf(bridge, await inputRules(family));
    await restoreEach(TOOL[family], 'filter', doomed);
    removed += doomed.length;
  }
  return removed;
}

/** The bridges named by tsnerd DNS rules, in either family. */
export async function dnsInputRuleBridges(): Promise<Set<string>> {
  const bridges = new Set<string>();
  for (const family of [4, 6] as const) for (const b of dnsInputBridges(await inputRules(family))) bridges.add(b);
  return bridges;
}

async function inputRules(family: IpFamily): Promise<string[]> {
  const listed = await runProcess(TOOL[family], ['-w', '-t', 'filter', '-S', 'INPUT']);
  return listed.exitCode === 0 ? listed.stdout.split('\n') : [];
}
