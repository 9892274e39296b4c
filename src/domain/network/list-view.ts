/** `network ls`: filters and the rows nerdctl prints. */
import { invalid } from '../errors.ts';
import { AUX_ADDRESSES_LABEL, PSEUDO_NETWORKS } from './constants.ts';
import { type Network, networkShortId, pseudoNetwork } from './network.ts';
import { quote } from '../text.ts';

export interface NetworkListRow {
  ID: string;
  Name: string;
  File: string;
  /** `k=v,k2=v2`, as nerdctl's template field. */
  Labels: string;
}

type Filter = (n: Network) => boolean;

/** The labels a user sees and filters on: nerdctl's internal aux-address label is hidden (as nerdctl). */
function visibleLabels(n: Network): Record<string, string> {
  const { [AUX_ADDRESSES_LABEL]: _aux, ...visible } = n.labels;
  return visible;
}

/** `name=<regexp>` (unanchored, as nerdctl) and `label=<key>[=<value>]`. */
export function parseListFilters(filters: readonly string[]): Filter[] {
  return filters.map((f) => {
    const i = f.indexOf('=');
    const key = i < 0 ? f : f.slice(0, i);
    const value = i < 0 ? '' : f.slice(i + 1);
    if (key === 'name') {
      let re: RegExp;
      try {
        re = new RegExp(value);
      } catch {
        throw invalid(`invalid filter ${quote(f)}: bad regular expression`);
      }
      return (n: Network) => re.test(n.name);
    }
    if (key === 'label') {
      const j = value.indexOf('=');
      const lk = j < 0 ? value : value.slice(0, j);
      return j < 0 ? (n: Network) => Object.hasOwn(visibleLabels(n), lk) : (n: Network) => visibleLabels(n)[lk] === value.slice(j + 1);
    }
    throw invalid(`invalid filter ${quote(f)}: only name= and label= are supported`);
  });
}

/** Conf-dir networks in path order, then host and none unless a filter is given (as nerdctl). */
export function listRows(networks: readonly Network[], filters: readonly string[]): NetworkListRow[] {
  const parsed = parseListFilters(filters);
  const shown = networks.filter((n) => parsed.every((f) => f(n)));
  if (parsed.length === 0) shown.push(...PSEUDO_NETWORKS.map(pseudoNetwork));
  return shown.map((n) => ({
    ID: networkShortId(n),
    Name: n.name,
    File: n.file ?? '',
    Labels: Object.entries(visibleLabels(n))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  }));
}
