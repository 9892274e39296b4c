/**
 * The firewall plugin's ADD and DEL (its iptables backend, containernetworking/plugins
 * plugins/meta/firewall: unchanged from v1.1.1 to v1.9), done in one iptables-restore
 * per address family when every object it shares with other containers is there.
 *
 * The plugin's ADD runs iptables ~18 times per container (two `--version`, per family
 * a listing of the filter table and a check for each shared chain, a check before each
 * of its two rules), and each run loads a filter table that grows by two rules with
 * every container (docs/performance.md, B3). What it adds of its own is two rules in
 * `CNI-FORWARD` per address; the rest (the chains `CNI-FORWARD` and `CNI-ADMIN`, the
 * jumps to them, and with `ingressPolicy: same-bridge` the bridge's isolation rules) it
 * makes once and then only checks. The restore below appends the container's rules and
 * checks those shared rules with `-C` lines (firewallAddScripts); when a check fails (the
 * first container on a bridge, a flushed firewall) the appends are undone and the real
 * plugin runs, which makes what is missing. The rules are the plugin's, rule for rule
 * (test/e2e/cni/plugin-parity.test.ts compares them).
 */
import { isIPv6 } from 'node:net';

/** The bridge (the first interface's name) and the addresses of a previous result: what the plugin reads of it. */
function readPrevResult(prev: Record<string, unknown>): { bridge: string | undefined; addresses: string[] } | undefined {
  const { interfaces, ips } = prev;
  if (!Array.isArray(ips) || (interfaces !== undefined && !Array.isArray(interfaces))) return undefined;
  const addresses: string[] = [];
  for (const ip of ips as unknown[]) {
    const address = (ip as { address?: unknown } | null)?.address;
    if (typeof address !== 'string') return undefined;
    addresses.push(address.split('/')[0]!);
  }
  const name = ((interfaces as unknown[] | undefined)?.[0] as { name?: unknown } | undefined)?.name;
  return { bridge: typeof name === 'string' ? name : undefined, addresses };
}

const FORWARD_COMMENT = 'CNI firewall plugin rules';
const ADMIN_COMMENT = 'CNI firewall plugin admin overrides';
const ISOLATION_COMMENT = 'CNI firewall plugin rules (ingressPolicy: same-bridge)';

/** What the restores below need of the plugin's conf and previous result. */
interface Covered {
  policy: string;
  admin: string;
  bridge: string | undefined;
  addresses: string[];
}

/**
 * The conf and previous result when the restores below do what the plugin would, or
 * undefined when the conf asks for what they do not do: another backend (firewalld), an
 * ingress policy other than open or same-bridge, an unusable admin chain, no address.
 */
function covered(conf: Record<string, unknown>, prevResult: Record<string, unknown>): Covered | undefined {
  const backend = conf['backend'];
  if (backend !== undefined && backend !== 'iptables') return undefined;
  const policy = conf['ingressPolicy'] ?? '';
  if (policy !== '' && policy !== 'open' && policy !== 'same-bridge') return undefined;
  const admin = conf['iptablesAdminChainName'] ?? 'CNI-ADMIN';
  if (typeof admin !== 'string' || admin === '' || /\s/.test(admin)) return undefined;
  const prev = readPrevResult(prevResult);
  if (!prev || prev.addresses.length === 0) return undefined;
  const { bridge, addresses } = prev;
  if (policy === 'same-bridge' && (bridge === undefined || bridge === '' || /\s/.test(bridge))) return undefined;
  return { policy, admin, bridge, addresses };
}

/** One iptables-restore input per family of the addresses (4 first), each from the family's addresses. */
function perFamily(addresses: string[], lines: (ips: string[], family: 4 | 6) => string[]): { family: 4 | 6; script: string }[] {
  const scripts: { family: 4 | 6; script: string }[] = [];
  for (const family of [4, 6] as const) {
    const ips = addresses.filter((a) => isIPv6(a) === (family === 6));
    if (ips.length > 0) scripts.push({ family, script: ['*filter', ...lines(ips, family), 'COMMIT', ''].join('\n') });
  }
  return scripts;
}

/**
 * How many stale copies of a container's rules the ADD's restore removes (one round each, see
 * firewallAddScripts): a stale copy is doubled by an ADD that appends without looking, and one
 * copy stays after the DEL, so more than one is left only by repeated failures (`network gc`
 * removes any number).
 */
export const STALE_ROUNDS = 2;

/** One restore input of the ADD, and where its transactions end (line numbers, from 1). */
export interface FirewallAddScript {
  family: 4 | 6;
  script: string;
  /** The last line of the first transaction (the appends): a failure up to it changed nothing. */
  addLines: number;
  /** The last check of a shared rule (second transaction): a failure up to it leaves the appends made. */
  checkLines: number;
  /** The container's rules (`-d … -j ACCEPT`, `-s … -j ACCEPT`, as after the chain's name), for the undo. */
  rules: string[];
}

/**
 * The plugin's ADD as one iptables-restore input per address family of `prev`'s addresses
 * (4 first). Undefined where the restores do not cover the conf.
 *
 * The plugin appends a rule only where none is there yet (AppendUnique); a restore cannot test
 * for absence. iptables-restore commits per transaction (`*filter` … `COMMIT`) and stops at the
 * first line that fails, so the input is: (1) the appends; (2) the checks of every shared rule,
 * then one round that deletes one copy of each of the container's rules and checks that another
 * is still there; (3) `STALE_ROUNDS - 1` more such rounds. In the usual case (no stale copy) the
 * first check after a deletion fails, that transaction is dropped and the process exits 1 naming
 * its line: the appends stand, checked (firewallAddOutcome). A rule left stale for the address
 * (a DEL whose failure the plugin ignored, a kill, another tool) is thus not doubled, which
 * left one copy after the container's DEL. The checks are not in the first transaction because
 * a check makes iptables-nft read the whole table, and the second transaction reads it again:
 * with 500 containers' rules in CNI-FORWARD that took a restore from 6.6 to 10.8 ms, against 7.9
 * ms this way (docs/performance.md). One process as before.
 */
export function firewallAddScripts(conf: Record<string, unknown>, prevResult: Record<string, unknown>): FirewallAddScript[] | undefined {
  const c = covered(conf, prevResult);
  if (!c) return undefined;
  const { policy, admin, bridge, addresses } = c;
  const scripts: FirewallAddScript[] = [];
  for (const family of [4, 6] as const) {
    const ips = [...new Set(addresses.filter((a) => isIPv6(a) === (family === 6)))];
    if (ips.length === 0) continue;
    const rules = ips.flatMap((ip) => containerRules(ip, family));
    const add = ['*filter', ...rules.map((rule) => `-A CNI-FORWARD ${rule}`), 'COMMIT'];
    const checks = [
      `-C FORWARD -m comment --comment "${FORWARD_COMMENT}" -j CNI-FORWARD`,
      `-C CNI-FORWARD -m comment --comment "${ADMIN_COMMENT}" -j ${admin}`,
      ...(policy === 'same-bridge' ? isolationChecks(bridge!) : []),
    ];
    const round = rules.flatMap((rule) => [`-D CNI-FORWARD ${rule}`, `-C CNI-FORWARD ${rule}`]);
    const more = Array.from({ length: STALE_ROUNDS - 1 }, () => ['*filter', ...round, 'COMMIT']).flat();
    const lines = [...add, '*filter', ...checks, ...round, 'COMMIT', ...more, ''];
    scripts.push({ family, script: lines.join('\n'), addLines: add.length, checkLines: add.length + 1 + checks.length, rules });
  }
  return scripts;
}

/**
 * What an ADD's restore (a FirewallAddScript) left: `done` when it succeeded (every round found a
 * stale copy) or failed past the checks (the usual case: no stale copy left to remove); `plugin`
 * when it failed in the appends (nothing changed: the plugin must run); `undo` when a shared rule
 * is missing (the first container on a bridge, a flushed firewall) or the outcome is unknown (a
 * killed process): the appends are undone (firewallUndoScript) and the plugin runs, which appends
 * each rule only where none is.
 */
export function firewallAddOutcome(script: FirewallAddScript, exitCode: number | null, stderr: string): 'done' | 'plugin' | 'undo' {
  if (exitCode === 0) return 'done';
  const text = exitCode === 1 ? /line (\d+) failed/.exec(stderr)?.[1] : undefined;
  if (text === undefined) return 'undo';
  const line = Number(text);
  return line <= script.addLines ? 'plugin' : line <= script.checkLines ? 'undo' : 'done';
}

/**
 * Deletes one copy of each of the container's rules: the appends of an ADD whose checks failed
 * (all or nothing: when one is not there, nothing changes, and the plugin appends what is missing).
 */
export function firewallUndoScript(script: FirewallAddScript): string {
  return ['*filter', ...script.rules.map((rule) => `-D CNI-FORWARD ${rule}`), 'COMMIT', ''].join('\n');
}

/**
 * The plugin's DEL (its two rules of each address deleted, nothing else) as one iptables-restore
 * input per family: it fails, changing nothing, when a rule is not there, and the plugin then runs
 * (it ignores the rules it does not find). Undefined where `firewallAddScripts` would be.
 */
export function firewallDelScripts(
  conf: Record<string, unknown>,
  prevResult: Record<string, unknown>,
): { family: 4 | 6; script: string }[] | undefined {
  const c = covered(conf, prevResult);
  if (!c) return undefined;
  return perFamily(c.addresses, (ips, family) =>
    [...new Set(ips)].flatMap((ip) => containerRules(ip, family).map((rule) => `-D CNI-FORWARD ${rule}`)),
  );
}

/** The plugin's two rules of one address (getPrivChainRules), as `iptables -S` prints them after the chain. */
export function containerRules(ip: string, family: 4 | 6): string[] {
  const host = `${ip}/${family === 6 ? 128 : 32}`;
  return [`-d ${host} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-s ${host} -j ACCEPT`];
}

/** Checks of the bridge's isolation rules the plugin's first ADD on it made (setupIsolationChains). */
function isolationChecks(bridge: string): string[] {
  const comment = `-m comment --comment "${ISOLATION_COMMENT}"`;
  return [
    `-C FORWARD ${comment} -j CNI-ISOLATION-STAGE-1`,
    `-C CNI-ISOLATION-STAGE-1 -i ${bridge} ! -o ${bridge} ${comment} -j CNI-ISOLATION-STAGE-2`,
    `-C CNI-ISOLATION-STAGE-1 ${comment} -j RETURN`,
    `-C CNI-ISOLATION-STAGE-2 -o ${bridge} ${comment} -j DROP`,
    `-C CNI-ISOLATION-STAGE-2 ${comment} -j RETURN`,
  ];
}
