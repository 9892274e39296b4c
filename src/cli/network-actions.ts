/**
 * `network ls` and `network inspect` once their flags are parsed, shared by
 * the oclif commands and the fast path (src/cli/fast-path.ts); no oclif here.
 */
import { usage } from '../domain/errors.ts';
import { inspectNetworks } from '../app/networks/inspect-networks.ts';
import { listNetworks } from '../app/networks/list-networks.ts';
import { NETWORK_LIST_HEADERS } from '../domain/network/list-view.ts';
import { createNetworkDeps } from '../wiring/networks.ts';
import { inspectFormatter, renderListFormat } from './go-template.ts';
import { out, settingsFromFlags, type GlobalFlagValues } from './global-flags.ts';
import { formatTable } from './table.ts';

export async function networkLsAction(
  flags: GlobalFlagValues & {
    quiet?: boolean | undefined;
    filter?: string[] | undefined;
    format?: string | undefined;
    'no-trunc'?: boolean | undefined;
  },
): Promise<void> {
  if (flags.format === 'raw') throw usage('unsupported format: "raw"');
  if (flags.quiet && flags.format) throw usage('--format and --quiet cannot be used together');
  const rows = await listNetworks(createNetworkDeps(settingsFromFlags(flags)), flags.filter ?? [], { noTrunc: flags['no-trunc'] === true });
  if (flags.quiet) {
    for (const r of rows) if (r.ID !== '') out(r.ID);
    return;
  }
  const format = flags.format ?? 'table';
  if (format === 'table' || format === 'wide' || format === '') {
    out(
      formatTable(
        ['NETWORK ID', 'NAME', 'FILE'],
        rows.map((r) => [r.ID, r.Name, r.File]),
      ),
    );
    return;
  }
  for (const line of renderListFormat(format, rows, NETWORK_LIST_HEADERS)) out(line);
}

export async function networkInspectAction(flags: GlobalFlagValues & { format?: string | undefined }, refs: string[]): Promise<void> {
  const format = inspectFormatter(flags.format);
  const { networks, errors } = await inspectNetworks(createNetworkDeps(settingsFromFlags(flags)), refs);
  for (const text of format(networks)) out(text);
  errors.throwIfAny();
}
