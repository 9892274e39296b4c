/**
 * A bridge plugin's per-container masquerade chain, made and removed by tsnerd in place of the
 * plugin (domain/netfilter/ipmasq.ts), put back by `network reload` after a firewall flush.
 */
import { isIPv6 } from 'node:net';
import { cniChainName, ipMasqJump, ipMasqSetupScript, ipMasqTeardownScript } from '../../domain/netfilter/ipmasq.ts';
import { removeHashChains } from './hash-chains.ts';
import { internal } from '../../domain/errors.ts';
import { runProcess } from '../host/run-process.ts';

export async function removeIpMasqChain(network: string, containerId: string, ips: readonly string[]): Promise<void> {
  // Addresses unknown (an ADD cut short): the chain goes with the container's rules that jump to it,
  // if any, whatever they name; an ADD killed right after creating the chain left it empty, with none.
  if (ips.length === 0) {
    await removeHashChains([{ network, cniId: containerId }], ['masquerade']);
    return;
  }
  const families: [string, string, string[]][] = [
    ['iptables-restore', 'iptables', ips.filter((ip) => !isIPv6(ip))],
    ['ip6tables-restore', 'ip6tables', ips.filter((ip) => isIPv6(ip))],
  ];
  for (const [restore, tool, familyIps] of families) {
    if (familyIps.length === 0) continue;
    const script = ipMasqTeardownScript(network, containerId, familyIps);
    const done = await runProcess(restore, ['--noflush', '--wait'], { input: script });
    if (done.exitCode === 0) continue;
    // The rule was already gone (restore is all-or-nothing): still drop the chain if it is there.
    const chain = cniChainName(network, containerId);
    await runProcess(tool, ['-w', '-t', 'nat', '-F', chain]);
    await runProcess(tool, ['-w', '-t', 'nat', '-X', chain]);
  }
}

/**
 * Makes the chain and its POSTROUTING jumps what the bridge plugin's ADD made for `addresses`
 * (CIDRs, one container's): idempotent, one iptables-restore per family, a jump appended only
 * where `-C` does not find it (`network reload`).
 */
export async function ensureIpMasqChain(network: string, containerId: string, addresses: readonly string[]): Promise<void> {
  await restoreIpMasqChain(network, containerId, addresses, async (tool, ips) => {
    const missing: string[] = [];
    for (const ip of ips) {
      const found = await runProcess(tool, ['-w', '-t', 'nat', '-C', 'POSTROUTING', ...ipMasqJump(network, containerId, ip)]);
      if (found.exitCode !== 0) missing.push(ip);
    }
    return missing;
  });
}

/**
 * Makes the chain and its jumps for an ADD's `addresses` (CIDRs) as the bridge plugin's ADD would:
 * one iptables-restore per family and no check, as the attachment is new (a stale one of the same
 * container was detached first, and its chain with it).
 */
export async function addIpMasqChain(network: string, containerId: string, addresses: readonly string[]): Promise<void> {
  await restoreIpMasqChain(network, containerId, addresses, async (_tool, ips) => ips);
}

async function restoreIpMasqChain(
  network: string,
  containerId: string,
  addresses: readonly string[],
  missingJumps: (tool: string, ips: readonly string[]) => Promise<readonly string[]>,
): Promise<void> {
  for (const [restore, tool, v6] of [
    ['iptables-restore', 'iptables', false],
    ['ip6tables-restore', 'ip6tables', true],
  ] as const) {
    const cidrs = addresses.filter((a) => isIPv6(a.split('/')[0]!) === v6);
    if (cidrs.length === 0) continue;
    const missing = await missingJumps(tool, [...new Set(cidrs.map((c) => c.split('/')[0]!))]);
    const done = await runProcess(restore, ['--noflush', '--wait'], { input: ipMasqSetupScript(network, containerId, cidrs, missing) });
    if (done.exitCode !== 0)
      throw internal(
        `cannot restore the masquerade chain ${cniChainName(network, containerId)}: ${restore}: ${done.stderr.trim() || `exit ${done.exitCode}`}`,
      );
  }
}
