/**
 * Which ADDs may run beside other containers' ADDs instead of one at a time
 * under the host-wide CNI lock (issue 14: 32 concurrent `run -d` queued ~100 ms
 * of plugins each behind one another).
 *
 * The reference plugins race only where they create objects every container
 * shares: the bridge plugin the bridge and its gateway address, firewall its
 * CNI-FORWARD/CNI-ADMIN chains and the bridge's isolation rules, portmap its
 * CNI-HOSTPORT-* chains (check, then create: two at once fail with "Chain
 * already exists", nerdctl#2908). What each ADD adds of its own (veth, IPAM
 * lease under host-local's flock, per-container chains and rules, appended in
 * nftables transactions) does not race. So an ADD may share the lock once an
 * ADD on the same bridge, since it was created and in this boot, set those
 * shared objects up, with published ports if this one has any; chains of other
 * plugin types are never known to be safe.
 */
import type { NetworkConfigList } from './net-conf.ts';
import { OVERLAY_CONFLIST_KEY } from '../overlay/overlay-network.ts';

/** Plugin types whose concurrent ADDs are safe once the shared objects exist (plugins 1.1.1). */
const SHARABLE_PLUGINS = new Set(['bridge', 'portmap', 'firewall', 'tuning']);
const SHARABLE_IPAM = new Set(['host-local', 'static']);

/**
 * The bridge a list attaches to when its ADD may share the CNI lock once that
 * bridge is set up; undefined for any other list (one bridge plugin first,
 * then only plugins known to be safe).
 */
export function sharableBridge(list: NetworkConfigList): string | undefined {
  if (list.raw[OVERLAY_CONFLIST_KEY] !== undefined) return undefined; // the overlay agent's work is not covered
  const [main, ...rest] = list.plugins;
  if (main?.type !== 'bridge' || rest.some((p) => p.type === 'bridge' || !SHARABLE_PLUGINS.has(p.type))) return undefined;
  const ipam = main.raw['ipam'] as { type?: unknown } | undefined;
  if (typeof ipam?.type !== 'string' || !SHARABLE_IPAM.has(ipam.type)) return undefined;
  const bridge = main.raw['bridge'];
  return typeof bridge === 'string' && bridge !== '' ? bridge : 'cni0';
}

/** What is remembered of a bridge whose shared objects an exclusive ADD set up. */
export interface SetUpBridge {
  /** The bridge's ifindex then: a bridge deleted and created again has another. */
  ifindex: number;
  /** An ADD with published ports succeeded too (portmap's chains exist). */
  ports: boolean;
}

/** The remembered facts of one boot, by bridge name. */
export interface SharedAddFacts {
  boot: string;
  bridges: Record<string, SetUpBridge>;
}

/** Whether an ADD to `bridges` (with their ifindex now) with or without ports may share the lock. */
export function mayShare(
  facts: SharedAddFacts | undefined,
  boot: string,
  bridges: readonly { name: string; ifindex: number | undefined }[],
  ports: boolean,
): boolean {
  if (boot === '' || facts?.boot !== boot || bridges.length === 0) return false;
  return bridges.every(({ name, ifindex }) => {
    const known = facts.bridges[name];
    return ifindex !== undefined && known?.ifindex === ifindex && (known.ports || !ports);
  });
}

/** The facts after an exclusive ADD to `bridges` succeeded. */
export function rememberSetUp(
  facts: SharedAddFacts | undefined,
  boot: string,
  bridges: readonly { name: string; ifindex: number | undefined }[],
  ports: boolean,
): SharedAddFacts {
  const next: SharedAddFacts = { boot, bridges: facts?.boot === boot ? { ...facts.bridges } : {} };
  for (const { name, ifindex } of bridges) {
    if (ifindex === undefined) continue;
    const known = next.bridges[name];
    next.bridges[name] = { ifindex, ports: ports || (known?.ifindex === ifindex && known.ports) };
  }
  return next;
}
