/**
 * The firewall plugin's per-container rules in `CNI-FORWARD` that no live container needs,
 * found by address (they carry no comment naming their container): what `network gc` and the
 * hook's reconciler after a restart remove. A DEL whose failure the plugin ignored, a kill or
 * another tool leaves them, and an ADD that appends without looking (tsnerd's restore before it
 * removed stale copies) doubled them for the next container given the address, one copy staying
 * after its DEL. Addresses are compared with node's BlockList (any spelling of an IPv6 address
 * is the same address), not ip-num: the hook, which runs the reconciler, does not load ip-num.
 */
import { BlockList, isIP } from 'node:net';
import { containerRules } from './firewall-plugin.ts';

/** A set of addresses (IPv4 and IPv6, however spelled; a `/prefix` after one is ignored). */
export class AddressSet {
  private readonly list = new BlockList();
  private size = 0;

  add(text: string): void {
    const address = text.split('/')[0]!;
    const family = isIP(address);
    if (family === 0) return;
    this.list.addAddress(address, family === 6 ? 'ipv6' : 'ipv4');
    this.size++;
  }

  has(address: string): boolean {
    const family = isIP(address);
    return this.size > 0 && family !== 0 && this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** Subnets (`10.1.0.0/24`, `fd00::/64`) as a matcher; a text that is none is left out. */
function subnetMatcher(subnets: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  let any = false;
  for (const subnet of subnets) {
    const [network, prefix, ...rest] = subnet.split('/');
    const family = isIP(network ?? '');
    if (family === 0 || prefix === undefined || !/^\d+$/.test(prefix) || rest.length > 0 || Number(prefix) > (family === 6 ? 128 : 32))
      continue;
    list.addSubnet(network!, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
    any = true;
  }
  return (address) => any && list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The address of one of the plugin's per-container rules in `CNI-FORWARD` as `iptables -S`
 * prints it (`-A CNI-FORWARD -d IP/32 -m conntrack … -j ACCEPT`, `-A CNI-FORWARD -s IP/32 -j
 * ACCEPT`, /128 for IPv6), as printed; undefined for any other line.
 */
export function firewallRuleAddress(line: string): string | undefined {
  const m = /^-A CNI-FORWARD -([ds]) (\S+)\/(32|128) (.*)$/.exec(line.trimEnd());
  if (!m) return undefined;
  const [, dir, address, bits, rest] = m;
  const family = isIP(address!);
  if (family === 0 || (family === 6) !== (bits === '128')) return undefined;
  const expected = containerRules(address!, family as 4 | 6).find((r) => r.startsWith(`-${dir} `))!;
  return expected === `-${dir} ${address}/${bits} ${rest}` ? address : undefined;
}

/** The plugin's rules of one address that are removed: all of them, or the copies past the first. */
export interface StaleFirewallRules {
  /** As `iptables -S` prints it. */
  address: string;
  /** True: a live container holds the address, and these are the duplicates of its rules. */
  held: boolean;
  /** `-A CNI-FORWARD …` lines as listed, one per copy to delete (a `-D` deletes the first copy). */
  rules: string[];
}

/**
 * The firewall plugin's per-address rules in a listing of `CNI-FORWARD` (`iptables -S
 * CNI-FORWARD`, one family) that no live container needs: those of an address inside one of
 * `subnets` (the networks tsnerd knows) that `held` (addresses of live attachments and leases)
 * does not hold, every copy; and of a held address, the copies of each rule past the first (the
 * plugin appends a rule only where none is: one copy, whatever the number of holders). Rules of
 * addresses outside the subnets are never taken: another tool's, or another data root's with its
 * own conf dir.
 */
export function staleFirewallRules(listing: string, subnets: readonly string[], held: AddressSet): StaleFirewallRules[] {
  const inScope = subnetMatcher(subnets);
  const byAddress = new Map<string, Map<string, number>>();
  for (const line of listing.split('\n').map((l) => l.trimEnd())) {
    const address = firewallRuleAddress(line);
    if (address === undefined || !inScope(address)) continue;
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
