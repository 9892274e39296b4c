/**
 * Names the CNI plugins (containernetworking/plugins pkg/utils) give the
 * per-container masquerade chain, and the restore scripts that remove it and
 * (`network reload`) put it back as the bridge plugin's ADD made it.
 *
 * The bridge plugin only tears its ipMasq rules down when DEL runs with the
 * container's netns, which is gone by postStop; the runtime removes them
 * itself (nerdctl sweeps iptables for the same reason).
 */
import { isIPv6 } from 'node:net';
import { hashChainName } from './hash-chains.ts';

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
