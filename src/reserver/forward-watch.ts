/**
 * The port holder's forward check (pure; the holder lists and reloads): whether the port
 * forwards portmap made for the containers it holds ports for are still in the firewall, so
 * that a flush (`iptables -t nat -F`, `nft flush ruleset`, a firewall service's reload) is
 * mended by `network reload` of exactly the containers it took, as netavark's
 * firewalld-reload service does for Podman.
 *
 * One listing per address family and check: portmap puts one jump per container and network
 * into the shared CNI-HOSTPORT-DNAT chain, its comment naming both (`dnat name: "<network>"
 * id: "<cni id>"`), so `iptables -S CNI-HOSTPORT-DNAT` shows every held container's forwards
 * for what one `iptables -C` costs (~1.3 ms of CPU each here), where a `-C` per container
 * would need each one's chain name and cost a fork each (docs/performance.md).
 *
 * A forward counts as missing only once it was seen: a container is armed by the first check
 * that finds its forward (its ADD may still be running when it registers; a network without
 * portmap never arms it), or, once its start is over (the hook wrote its lifecycle record for
 * that very init), by its attachments' result cache: a flush in its first seconds, before any
 * listing saw the forward, or while no holder ran (a kill -9) is mended too. A reload disarms
 * what it was run for and the cache arms an entry once, so a forward that does not come back
 * (its network disconnected meanwhile) is reloaded once, never in a loop.
 */
import { isIPv6 } from 'node:net';
import type { HostBinding } from '../domain/publish/port-mapping.ts';

export type Family = 4 | 6;

/** portmap's shared chain: one jump per container and network, to that pair's own DNAT chain. */
export const DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';

/** The command listing DNAT_CHAIN of one family; `-w 5`: never wait on the xtables lock for long. */
export function listingCommand(family: Family): [string, string[]] {
  return [family === 6 ? 'ip6tables' : 'iptables', ['-w', '5', '-t', 'nat', '-S', DNAT_CHAIN]];
}

/** The families whose nat tables carry forwards of these bindings (a `::` binding is ip6tables'). */
export function familiesOf(bindings: readonly HostBinding[]): Family[] {
  const families = new Set<Family>(bindings.map((b) => (isIPv6(b.hostIP) ? 6 : 4)));
  return [...families].sort();
}

const COMMENT = /dnat name: \\"([^"\\]+)\\" id: \\"([^"\\]+)\\"/;

/** The forwards of a listing: for each CNI container ID, the networks it has a jump of. */
export function forwardsIn(listing: string): Map<string, Set<string>> {
  const byId = new Map<string, Set<string>>();
  for (const line of listing.split('\n')) {
    if (!line.startsWith(`-A ${DNAT_CHAIN} `)) continue;
    const m = COMMENT.exec(line);
    if (!m) continue;
    const [, network, id] = m as unknown as [string, string, string];
    let networks = byId.get(id);
    if (!networks) byId.set(id, (networks = new Set()));
    networks.add(network);
  }
  return byId;
}

/**
 * What one container lacks: `seen` (its armed forwards, `<family>/<network>`) gains what the
 * listings show of cniId, and the seen ones a listing of their family lacks are returned.
 * A family without a listing (iptables failed otherwise than on a missing chain) decides nothing.
 */
export function missingForwards(
  seen: Set<string>,
  cniId: string,
  listings: ReadonlyMap<Family, ReadonlyMap<string, ReadonlySet<string>>>,
): string[] {
  for (const [family, forwards] of listings) for (const network of forwards.get(cniId) ?? []) seen.add(`${family}/${network}`);
  return [...seen].filter((key) => {
    const [family, ...rest] = key.split('/');
    const forwards = listings.get(Number(family) as Family);
    return forwards !== undefined && !(forwards.get(cniId)?.has(rest.join('/')) ?? false);
  });
}

/**
 * Whether a container's start is over: its lifecycle record (`lifecycle.json` text, '' when
 * absent) names this init (pid and start time) and no failure. Only then does the result
 * cache say what its ADD made (an ADD in progress writes the entry before its first plugin).
 */
export function startFinished(lifecycleText: string, pid: number | undefined, startTime: string | undefined): boolean {
  if (pid === undefined) return false;
  const record = parseObject(lifecycleText);
  return (
    record !== undefined &&
    record['pid'] === pid &&
    record['create_error'] !== true &&
    (startTime === undefined || record['pid_start'] === startTime)
  );
}

/**
 * The forwards (`<family>/<network>`) one libcni result cache entry (its file's text) says
 * portmap made for cniId: its network list has a portmap plugin taking the `portMappings`
 * capability and the entry carries some mappings; one key per family of the container's
 * bindings (held `0.0.0.0`: IPv4's jump, `::`: IPv6's). None for anything else.
 */
export function cachedForwards(entryText: string, cniId: string, families: readonly Family[]): string[] {
  const entry = parseObject(entryText);
  if (!entry || entry['containerId'] !== cniId || typeof entry['networkName'] !== 'string') return [];
  const mappings = (entry['capabilityArgs'] as Record<string, unknown> | null | undefined)?.['portMappings'];
  if (!Array.isArray(mappings) || mappings.length === 0 || typeof entry['config'] !== 'string') return [];
  const list = parseObject(Buffer.from(entry['config'], 'base64').toString('utf8'));
  const plugins = Array.isArray(list?.['plugins']) ? (list['plugins'] as unknown[]) : [list];
  const portmap = plugins.some((p) => {
    const plugin = p as Record<string, unknown> | undefined;
    return plugin?.['type'] === 'portmap' && (plugin['capabilities'] as Record<string, unknown> | undefined)?.['portMappings'] === true;
  });
  return portmap ? families.map((f) => `${f}/${entry['networkName'] as string}`) : [];
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The `network reload` runs for the containers found lacking: one per reload command and environment (same settings), IDs appended in order. */
export function reloadRuns(
  lacking: readonly { reloadArgv: readonly string[]; env: Readonly<Record<string, string>>; id: string }[],
): { argv: string[]; env: Record<string, string> }[] {
  const runs = new Map<string, { argv: string[]; env: Record<string, string> }>();
  for (const { reloadArgv, env, id } of lacking) {
    const k = JSON.stringify([reloadArgv, env]);
    const run = runs.get(k);
    if (!run) runs.set(k, { argv: [...reloadArgv, id], env: { ...env } });
    else if (!run.argv.slice(reloadArgv.length).includes(id)) run.argv.push(id);
  }
  return [...runs.values()];
}
