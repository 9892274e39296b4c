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
 * makes once and then only checks. The restore below checks those shared rules with
 * `-C` lines (a check that fails aborts the whole transaction, nothing is changed) and
 * appends the container's rules; when it fails (the first container on a bridge, a
 * flushed firewall) the real plugin runs, which makes what is missing. The rules are
 * the plugin's, rule for rule (test/e2e/cni/plugin-parity.test.ts compares them).
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
 * The plugin's ADD as one iptables-restore input per address family of `prev`'s addresses
 * (4 first): the shared rules checked, the container's appended. Undefined where the
 * restores do not cover the conf.
 */
export function firewallAddScripts(
  conf: Record<string, unknown>,
  prevResult: Record<string, unknown>,
): { family: 4 | 6; script: string }[] | undefined {
  const c = covered(conf, prevResult);
  if (!c) return undefined;
  return perFamily(c.addresses, (ips, family) => [
    `-C FORWARD -m comment --comment "${FORWARD_COMMENT}" -j CNI-FORWARD`,
    `-C CNI-FORWARD -m comment --comment "${ADMIN_COMMENT}" -j ${c.admin}`,
    ...(c.policy === 'same-bridge' ? isolationChecks(c.bridge!) : []),
    ...ips.flatMap((ip) => containerRules(ip, family).map((rule) => `-A CNI-FORWARD ${rule}`)),
  ]);
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
function containerRules(ip: string, family: 4 | 6): string[] {
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
