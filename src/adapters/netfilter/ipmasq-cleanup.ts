/** Removes a bridge plugin's per-container masquerade chain after its netns is gone. */
import { isIPv6 } from 'node:net';
import { cniChainName, ipMasqTeardownScript, masqueradedSources } from '../../domain/netfilter/ipmasq.ts';
import { runProcess } from '../host/run-process.ts';

export async function removeIpMasqChain(network: string, containerId: string, ips: readonly string[]): Promise<void> {
  const families: [string, string, string[]][] = [
    ['iptables-restore', 'iptables', ips.filter((ip) => !isIPv6(ip))],
    ['ip6tables-restore', 'ip6tables', ips.filter((ip) => isIPv6(ip))],
  ];
  for (const [restore, tool, knownIps] of families) {
    // Addresses unknown (an ADD cut short): the rules that jump to the chain name them.
    const familyIps = ips.length > 0 ? knownIps : await sourcesJumpingTo(tool, cniChainName(network, containerId));
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

async function sourcesJumpingTo(tool: string, chain: string): Promise<string[]> {
  const listed = await runProcess(tool, ['-w', '-t', 'nat', '-S', 'POSTROUTING']);
  return listed.exitCode === 0 ? masqueradedSources(listed.stdout, chain) : [];
}
