/** `network ls`: filters and the rows nerdctl prints. */
import { invalid } from '../errors.ts';
import { AUX_ADDRESSES_LABEL, PSEUDO_NETWORKS } from './constants.ts';
import { type Network, isDefaultNetwork, isIPv6Enabled, isInternal, networkDriver, networkShortId, pseudoNetwork } from './network.ts';
import { OVERLAY_DRIVER, overlayOf } from '../overlay/overlay-network.ts';
import { quote } from '../text.ts';

export interface NetworkListRow {
  ID: string;
  Name: string;
  File: string;
  /** `k=v,k2=v2`, as nerdctl's template field. */
  Labels: string;
  /** Docker's fields (nerdctl has none of them): strings, as docker/cli's formatter gives them. */
  Driver: string;
  Scope: string;
  IPv6: string;
  Internal: string;
  /** The file's modification time in Go's time.Time format; empty for host and none. */
  CreatedAt: string;
}

/** The column titles of `network ls --format 'table …'` (docker/cli's). */
export const NETWORK_LIST_HEADERS: Readonly<Record<keyof NetworkListRow, string>> = {
  ID: 'NETWORK ID',
  Name: 'NAME',
  File: 'FILE',
  Labels: 'LABELS',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  CreatedAt: 'CREATED AT',
};

type Filter = (n: Network) => boolean;

/** The labels a user sees and filters on: nerdctl's internal aux-address label is hidden (as nerdctl). */
function visibleLabels(n: Network): Record<string, string> {
  const { [AUX_ADDRESSES_LABEL]: _aux, ...visible } = n.labels;
  return visible;
}

/**
 * `name=<regexp>` (unanchored, as nerdctl and Docker), `label=<key>[=<value>]`, and Docker's
 * `id=<regexp>`, `driver=`, `scope=local|global`, `type=custom|builtin`. As Docker: filters
 * with one key match when any of them does, labels when all do, and the keys all together.
 */
export function parseListFilters(filters: readonly string[]): Filter[] {
  const byKey = new Map<string, Filter[]>();
  for (const f of filters) {
    const i = f.indexOf('=');
    const key = i < 0 ? f : f.slice(0, i);
    const value = i < 0 ? '' : f.slice(i + 1);
    const one = filterOf(f, key, value);
    // every label filter is its own group (all must match); the others group by key (any may)
    const group = key === 'label' ? `label:${byKey.size}` : key;
    byKey.set(group, [...(byKey.get(group) ?? []), one]);
  }
  return [...byKey.values()].map((any) => (n: Network) => any.some((f) => f(n)));
}

function filterOf(f: string, key: string, value: string): Filter {
  const regexp = (): RegExp => {
    try {
      return new RegExp(value);
    } catch {
      throw invalid(`invalid filter ${quote(f)}: bad regular expression`);
    }
  };
  switch (key) {
    case 'name': {
      const re = regexp();
      return (n) => re.test(n.name);
    }
    case 'id': {
      const re = regexp();
      return (n) => n.id !== undefined && re.test(n.id);
    }
    case 'label': {
      const j = value.indexOf('=');
      const lk = j < 0 ? value : value.slice(0, j);
      return j < 0 ? (n) => Object.hasOwn(visibleLabels(n), lk) : (n) => visibleLabels(n)[lk] === value.slice(j + 1);
    }
    case 'driver':
      return (n) => driverOf(n) === value;
    case 'scope':
      if (value !== 'local' && value !== 'global' && value !== 'swarm')
        throw invalid(`invalid filter ${quote(f)}: scope is local, global or swarm`);
      return (n) => scopeOf(n) === value;
    case 'type':
      if (value !== 'custom' && value !== 'builtin') throw invalid(`invalid filter ${quote(f)}: type is custom or builtin`);
      return (n) => (value === 'builtin') === (n.pseudo || isDefaultNetwork(n));
    default:
      throw invalid(`invalid filter ${quote(f)}: only name=, id=, label=, driver=, scope= and type= are supported`);
  }
}

function driverOf(n: Network): string {
  return overlayOf(n) ? OVERLAY_DRIVER : networkDriver(n);
}

function scopeOf(n: Network): string {
  return overlayOf(n) ? 'global' : 'local';
}

/** Go's time.Time.String() in UTC, as docker/cli prints CreatedAt: `2026-12-01 03:29:24.716 +0000 UTC`. */
function goTime(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23).replace(/\.?0+$/, '')} +0000 UTC`;
}

/** Conf-dir networks in path order, then host and none unless a filter is given (as nerdctl). */
export function listRows(networks: readonly Network[], filters: readonly string[], opts: { noTrunc?: boolean } = {}): NetworkListRow[] {
  const parsed = parseListFilters(filters);
  const shown = networks.filter((n) => parsed.every((f) => f(n)));
  if (parsed.length === 0) shown.push(...PSEUDO_NETWORKS.map(pseudoNetwork));
  return shown.map((n) => ({
    ID: opts.noTrunc ? (n.id ?? '') : networkShortId(n),
    Name: n.name,
    File: n.file ?? '',
    Labels: Object.entries(visibleLabels(n))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Driver: driverOf(n),
    Scope: scopeOf(n),
    IPv6: String(!n.pseudo && isIPv6Enabled(n)),
    Internal: String(!n.pseudo && isInternal(n)),
    CreatedAt: n.created === undefined ? '' : goTime(n.created),
  }));
}
