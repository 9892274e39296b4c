/** Removes a bridge plugin's per-container masquerade chain after its netns is gone. */
import { isIPv6 } from 'node:net';
import { cniChainName, ipMasqTeardownScript } from '../../domain/netfilter/ipmasq.ts';
import { runProcess } from '../host/run-process.ts';

export async function removeIpMasqChain(network: string, containerId: string, ips: readonly string[]): Promise<void> {
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
