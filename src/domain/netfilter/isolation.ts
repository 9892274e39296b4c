/**
 * The firewall plugin's per-bridge isolation rules (`ingressPolicy`): on the first ADD on a
 * bridge it adds, in the filter table, `-A CNI-ISOLATION-STAGE-1 -i <bridge> ! -o <bridge> … -j
 * CNI-ISOLATION-STAGE-2` and `-A CNI-ISOLATION-STAGE-2 -o <bridge> … -j DROP`, and no DEL ever
 * removes them: they would outlive the bridge. `network rm` and `network gc` remove them with it.
 */

export const ISOLATION_CHAINS = ['CNI-ISOLATION-STAGE-1', 'CNI-ISOLATION-STAGE-2'] as const;

/** The bridge an isolation rule (an `iptables -S` line) is for: its `-i`, else its `-o`; undefined for other lines. */
export function isolationRuleBridge(rule: string): string | undefined {
  const chain = /^-A (\S+) /.exec(rule)?.[1];
  if (!chain || !(ISOLATION_CHAINS as readonly string[]).includes(chain)) return undefined;
  return / -i (\S+)/.exec(rule)?.[1] ?? / -o (\S+)/.exec(rule)?.[1];
}
