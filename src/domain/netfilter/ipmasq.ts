/**
 * Names the CNI plugins (containernetworking/plugins pkg/utils) give the
 * per-container masquerade chain, and the restore scripts that make it as the
 * bridge plugin's ADD does, remove it, and (`network reload`) put it back.
 *
 * tsnerd makes and removes the chain itself, the bridge plugin runs with
 * `ipMasq` off (`withoutPluginMasquerade`): the plugin's ADD spends ~9 iptables
 * runs on it (a listing of the nat table, a chain, three check-and-append
 * pairs), each loading a nat table that grows with every container, where one
 * iptables-restore per address family makes the same chain, rules and comments
 * (docs/performance.md). The conflist and the result cache keep `ipMasq: true`:
 * what a nerdctl user or another runtime sees, and what nerdctl's DEL of the
 * attachment removes, is what the plugin would have made. The plugin also only
 * tears its rules down when DEL runs with the container's netns, which is gone
 * by postStop (nerdctl sweeps iptables for the same reason).
 */
import { isIPv6 } from 'node:net';
import type { NetworkConfigList } from '../cni/net-conf.ts';
import { hashChainName } from './hash-chains.ts';

/** The list's bridge plugin masquerades (ipMasq): its per-container chain is tsnerd's to make, remove and put back on reload. */
export function masquerades(list: NetworkConfigList): boolean {
  return list.plugins.some((p) => p.type === 'bridge' && p.raw['ipMasq'] === true);
}

/**
 * The list as the plugins run it when tsnerd makes the masquerade chain: its bridge plugins'
 * `ipMasq` off. Its `bytes` (what the result cache records as the ADD's config) stay the
 * conflist's.
 */
export function withoutPluginMasquerade(list: NetworkConfigList): NetworkConfigList {
  if (!masquerades(list)) return list;
  return {
    ...list,
    plugins: list.plugins.map((p) => (p.type === 'bridge' && p.raw['ipMasq'] === true ? { ...p, raw: { ...p.raw, ipMasq: false } } : p)),
  };
}

/** The bridge plugin's masquerade chain of a container (hash-chains.ts). */
export function cniChainName(network: string, containerId: string): string {
  return hashChainName(network, containerId);
}

export function cniComment(network: string, containerId: string): string {
  return `name: "${network}" id: "${containerId}"`;
}

/** iptables-restore --noflush input deleting the masquerade rule and chain for `ips` of one family. */
export function ipMasqTeardownScript(network: string, containerId: string, ips: readonly string[]): string {
  const chain = cniChainName(network, containerId);
  const comment = cniComment(network, containerId).replaceAll('"', '\\"');
  const lines = ['*nat'];
  for (const ip of ips) lines.push(`-D POSTROUTING -s ${hostCidr(ip)} -m comment --comment "${comment}" -j ${chain}`);
  lines.push(`-F ${chain}`, `-X ${chain}`, 'COMMIT', '');
  return lines.join('\n');
}

/** Multicast is not masqueraded (the bridge plugin's ipMasq). */
const MULTICAST = { 4: '224.0.0.0/4', 6: 'ff00::/8' } as const;

/**
 * iptables-restore --noflush input (one family) that makes the masquerade chain of a container
 * hold what the bridge plugin's ADD put in it for `addresses` (CIDRs, the ADD result's): each
 * address's network accepted, the rest but multicast masqueraded, each rule once, in the
 * plugin's order; declaring the chain creates it or empties it. The POSTROUTING jumps of
 * `missingJumps` (addresses whose jump `iptables -C` did not find) are appended.
 */
export function ipMasqSetupScript(
  network: string,
  containerId: string,
  addresses: readonly string[],
  missingJumps: readonly string[],
): string {
  const chain = cniChainName(network, containerId);
  const comment = `-m comment --comment "${cniComment(network, containerId).replaceAll('"', '\\"')}"`;
  const rules: string[] = [];
  const once = (rule: string) => rules.includes(rule) || rules.push(rule);
  for (const cidr of addresses) {
    once(`-A ${chain} -d ${cidr} ${comment} -j ACCEPT`);
    once(`-A ${chain} ! -d ${MULTICAST[isIPv6(cidr.split('/')[0]!) ? 6 : 4]} ${comment} -j MASQUERADE`);
  }
  const jumps = missingJumps.map((ip) => `-A POSTROUTING -s ${hostCidr(ip)} ${comment} -j ${chain}`);
  return ['*nat', `:${chain} - [0:0]`, ...rules, ...jumps, 'COMMIT', ''].join('\n');
}

/** The POSTROUTING rule (after `-A POSTROUTING`, as argv) that sends a container address's traffic to its masquerade chain. */
export function ipMasqJump(network: string, containerId: string, ip: string): string[] {
  return ['-s', hostCidr(ip), '-m', 'comment', '--comment', cniComment(network, containerId), '-j', cniChainName(network, containerId)];
}

function hostCidr(ip: string): string {
  return `${ip}/${isIPv6(ip) ? 128 : 32}`;
}
