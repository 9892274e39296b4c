/**
 * Names the CNI plugins (containernetworking/plugins pkg/utils) give the
 * per-container masquerade chain, and the restore script that removes it.
 *
 * The bridge plugin only tears its ipMasq rules down when DEL runs with the
 * container's netns, which is gone by postStop; the runtime removes them
 * itself (nerdctl sweeps iptables for the same reason).
 */
import { isIPv6 } from 'node:net';
import { sha512Hex } from '../sha256.ts';

const MAX_CHAIN_LENGTH = 28;

export function cniChainName(network: string, containerId: string): string {
  return `CNI-${sha512Hex(network + containerId)}`.slice(0, MAX_CHAIN_LENGTH);
}

export function cniComment(network: string, containerId: string): string {
  return `name: "${network}" id: "${containerId}"`;
}

/** iptables-restore --noflush input deleting the masquerade rule and chain for `ips` of one family. */
export function ipMasqTeardownScript(network: string, containerId: string, ips: readonly string[]): string {
  const chain = cniChainName(network, containerId);
  const comment = cniComment(network, containerId).replaceAll('"', '\\"');
  const lines = ['*nat'];
  for (const ip of ips) {
    const prefix = isIPv6(ip) ? 128 : 32;
    lines.push(`-D POSTROUTING -s ${ip}/${prefix} -m comment --comment "${comment}" -j ${chain}`);
  }
  lines.push(`-F ${chain}`, `-X ${chain}`, 'COMMIT', '');
  return lines.join('\n');
}

/** The source addresses of the POSTROUTING rules (`iptables -S POSTROUTING` output) that jump to `chain`. */
export function masqueradedSources(rules: string, chain: string): string[] {
  const sources: string[] = [];
  for (const line of rules.split('\n')) {
    if (!line.startsWith('-A POSTROUTING ') || !line.trimEnd().endsWith(` -j ${chain}`)) continue;
    const source = / -s (\S+?)\/\d+ /.exec(line)?.[1];
    if (source) sources.push(source);
  }
  return sources;
}
