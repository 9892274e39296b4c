/**
 * The firewall plugin's per-container rules in `CNI-FORWARD` that no live container needs,
 * found by address (they carry no comment naming their container): what `network gc` removes.
 * A DEL whose failure the plugin ignored, a kill or another tool leaves them, and an ADD that
 * appends without looking (tsnerd's restore before it removed stale copies) doubles them for the
 * next container given the address, one copy staying after its DEL.
 */
import { containsIp, familyOf, formatIp, parseCidr, parseIp } from '../network/cidr.ts';
import { containerRules } from './firewall-plugin.ts';

/**
 * The address of one of the plugin's per-container rules in `CNI-FORWARD` as `iptables -S`
 * prints it (`-A CNI-FORWARD -d IP/32 -m conntrack … -j ACCEPT`, `-A CNI-FORWARD -s IP/32 -j
 * ACCEPT`, /128 for IPv6), in canonical form; undefined for any other line.
 */
export function firewallRuleAddress(line: string): string | undefined {
  const m = /^-A CNI-FORWARD -([ds]) (\S+)\/(32|128) (.*)$/.exec(line.trimEnd());
  if (!m) return undefined;
  const [, dir, address, bits, rest] = m;
  const ip = parseIp(address!);
  if (!ip || (familyOf(ip) === 6) !== (bits === '128')) return undefined;
  const expected = containerRules(address!, familyOf(ip)).find((r) => r.startsWith(`-${dir} `))!;
  return expected === `-${dir} ${address}/${bits} ${rest}` ? formatIp(ip) : undefined;
}

/** An address in canonical form (as firewallRuleAddress gives it), or undefined if it is none. */
export function canonicalAddress(text: string): string | undefined {
  const ip = parseIp(text.split('/')[0]!);
  return ip ? formatIp(ip) : undefined;
}

/** The plugin's rules of one address that `network gc` removes: all of them, or the copies past the first. */
export interface StaleFirewallRules {
  /** Canonical. */
  address: string;
  /** True: a live container holds the address, and these are the duplicates of its rules. */
  held: boolean;
  /** `-A CNI-FORWARD …` lines as listed, one per copy to delete (a `-D` deletes the first copy). */
  rules: string[];
}

/**
 * The firewall plugin's per-address rules in a listing of `CNI-FORWARD` (`iptables -S
 * CNI-FORWARD`, one family) that no live container needs: those of an address inside one of
 * `subnets` (the networks tsnerd knows) that nothing in `held` (canonical addresses of live
 * attachments and leases) holds, every copy; and of a held address, the copies of each rule
 * past the first (the plugin appends a rule only where none is: one copy, whatever the number
 * of holders). Rules of addresses outside the subnets are never taken: another tool's, or
 * another data root's with its own conf dir.
 */
export function staleFirewallRules(listing: string, subnets: readonly string[], held: ReadonlySet<string>): StaleFirewallRules[] {
  const cidrs = subnets.flatMap((s) => parseCidr(s) ?? []);
  const byAddress = new Map<string, Map<string, number>>();
  for (const line of listing.split('\n').map((l) => l.trimEnd())) {
    const address = firewallRuleAddress(line);
    if (address === undefined) continue;
    const ip = parseIp(address)!;
    if (!cidrs.some((c) => containsIp(c, ip))) continue;
    const rules = byAddress.get(address) ?? new Map<string, number>();
    rules.set(line, (rules.get(line) ?? 0) + 1);
    byAddress.set(address, rules);
  }
  const out: StaleFirewallRules[] = [];
  for (const [address, rules] of byAddress) {
    const keep = held.has(address) ? 1 : 0;
    const doomed = [...rules].flatMap(([rule, copies]) => Array.from({ length: Math.max(0, copies - keep) }, () => rule));
    if (doomed.length > 0) out.push({ address, held: keep > 0, rules: doomed });
  }
  return out;
}
