/** The firewall plugin's isolation rules of bridges (domain/netfilter/isolation.ts), in iptables and ip6tables. */
import { isolationRuleBridge } from '../../domain/netfilter/isolation.ts';
import { runProcess } from '../host/run-process.ts';
import { restoreEach } from './restore.ts';

const TOOLS = ['iptables', 'ip6tables'] as const;

/** The bridges that isolation rules name. */
export async function isolatedBridges(): Promise<Set<string>> {
  const bridges = new Set<string>();
  for (const tool of TOOLS) for (const rule of await filterRules(tool)) bridges.add(isolationRuleBridge(rule) ?? '');
  bridges.delete('');
  return bridges;
}

/** Deletes every isolation rule of `bridge` (call it once the bridge is gone, under the CNI lock: no ADD adds one meanwhile). */
export async function removeIsolationRules(bridge: string): Promise<void> {
  for (const tool of TOOLS) {
    const doomed = (await filterRules(tool)).filter((r) => isolationRuleBridge(r) === bridge);
    await restoreEach(
      tool,
      'filter',
      doomed.map((r) => `-D${r.slice(2)}`),
    );
  }
}

async function filterRules(tool: string): Promise<string[]> {
  const listed = await runProcess(tool, ['-w', '-t', 'filter', '-S']);
  return listed.exitCode === 0 ? listed.stdout.split('\n') : [];
}
