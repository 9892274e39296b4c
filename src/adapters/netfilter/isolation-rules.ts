/**
 * The rules that belong to a bridge and outlive its containers, in iptables and ip6tables: the
 * firewall plugin's isolation rules (domain/netfilter/isolation.ts) and tsnerd's DNS rules
 * (domain/netfilter/dns-input.ts). Both go with the bridge.
 */
import { dnsInputRulesOf } from '../../domain/netfilter/dns-input.ts';
import { isolationRuleBridge } from '../../domain/netfilter/isolation.ts';
import { runProcess } from '../host/run-process.ts';
import { removeDnsDnatRules } from './dns-input-rules.ts';
import { restoreEach } from './restore.ts';

const TOOLS = ['iptables', 'ip6tables'] as const;

/** The bridges that isolation rules name. */
export async function isolatedBridges(): Promise<Set<string>> {
  const bridges = new Set<string>();
  for (const tool of TOOLS) for (const rule of await filterRules(tool)) bridges.add(isolationRuleBridge(rule) ?? '');
  bridges.delete('');
  return bridges;
}

/**
 * Deletes every isolation rule and tsnerd DNS rule of `bridge` (call it once the bridge is gone,
 * under the CNI lock: no ADD adds one meanwhile): one listing and one iptables-restore per family,
 * and one listing of nat PREROUTING per family for the DNAT rules of `dns_bind_port` (a restore if any).
 */
export async function removeBridgeRules(bridge: string): Promise<void> {
  for (const tool of TOOLS) {
    const listed = await filterRules(tool);
    const doomed = [
      ...listed.filter((r) => isolationRuleBridge(r) === bridge).map((r) => `-D${r.slice(2)}`),
      ...dnsInputRulesOf(bridge, listed),
    ];
    await restoreEach(tool, 'filter', doomed);
    await removeDnsDnatRules(bridge, tool === 'iptables' ? 4 : 6);
  }
}

async function filterRules(tool: string): Promise<string[]> {
  const listed = await runProcess(tool, ['-w', '-t', 'filter', '-S']);
  return listed.exitCode === 0 ? listed.stdout.split('\n') : [];
}
