/**
 * The `--net/--network` values of `run`/`create`: repeatable and
 * comma-separated, deduplicated, `bridge` by default. All entries must be of
 * one kind (nerdctl's `nettype.Detect`); only CNI allows several.
 */
import { usage } from './errors.ts';
import { DEFAULT_NETWORK_NAME } from './network/constants.ts';
import { parseNetworkSpecs } from './network/endpoint.ts';

export type NetworkMode =
  | { kind: 'none' }
  | { kind: 'host' }
  | { kind: 'container'; container: string }
  | { kind: 'ns'; path: string }
  /** CNI networks by name or ID, in interface order (eth0, eth1, ...). */
  | { kind: 'cni'; networks: string[] };

type Kind = NetworkMode['kind'];

/** nerdctl's names for the kinds in its "mixed network types" message. */
const KIND_NAMES: Record<Kind, string> = {
  none: 'none',
  host: 'host',
  container: 'container',
  ns: 'namespace',
  cni: 'cni',
};

export function parseNetworkMode(values: readonly string[]): NetworkMode {
  // Per-network options (`--net n1,alias=x`) are parsed out by parseNetworkSpecs; only the names count here.
  const entries = parseNetworkSpecs(values).map((e) => e.network);
  if (entries.length === 0) return { kind: 'cni', networks: [DEFAULT_NETWORK_NAME] };
  let kind: Kind | undefined;
  for (const entry of entries) {
    const k = kindOf(entry);
    if (kind !== undefined && kind !== k) throw usage(`mixed network types: ${KIND_NAMES[kind]} and ${KIND_NAMES[k]}`);
    kind = k;
  }
  const first = entries[0]!;
  switch (kind) {
    case 'none':
      return { kind: 'none' };
    case 'host':
      return { kind: 'host' };
    case 'container': {
      if (entries.length > 1) {
        throw usage("conflicting options: only one network specification is allowed when using '--network=container:<container>'");
      }
      const container = first.slice('container:'.length);
      if (container === '') throw usage(`invalid network "${first}": missing container name or ID`);
      return { kind: 'container', container };
    }
    case 'ns': {
      if (entries.length > 1) throw usage(`only one network namespace path is allowed, got ${entries.length}`);
      const path = first.slice('ns:'.length);
      if (!path.startsWith('/')) throw usage(`invalid network "${first}": the namespace path must be absolute`);
      return { kind: 'ns', path };
    }
    default:
      return { kind: 'cni', networks: entries };
  }
}

/** The `--net` strings as stored in the `tsnerd/networks` label. */
export function networkModeToList(mode: NetworkMode): string[] {
  switch (mode.kind) {
    case 'none':
    case 'host':
      return [mode.kind];
    case 'container':
      return [`container:${mode.container}`];
    case 'ns':
      return [`ns:${mode.path}`];
    case 'cni':
      return [...mode.networks];
  }
}

function kindOf(entry: string): Kind {
  if (entry === 'none' || entry === 'host') return entry;
  if (entry.startsWith('container:')) return 'container';
  if (entry.startsWith('ns:')) return 'ns';
  return 'cni';
}
