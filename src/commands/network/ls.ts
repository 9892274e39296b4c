import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { renderGoTemplate } from '../../cli/go-template.ts';
import { formatTable } from '../../cli/table.ts';
import { usage } from '../../domain/errors.ts';
import { listNetworks } from '../../app/network/list-networks.ts';
import { createNetworkDeps } from '../../wiring/network.ts';

export default class NetworkLs extends BaseCommand {
  static override summary = 'List networks';
  static override aliases = ['network:list'];
  static override examples = [
    '<%= config.bin %> network ls',
    '<%= config.bin %> network ls --filter label=env=prod -q',
    "<%= config.bin %> network ls --format '{{.Name}}'",
  ];

  static override flags = {
    quiet: Flags.boolean({ char: 'q', default: false, summary: 'only the short IDs (networks without an ID print nothing)' }),
    filter: Flags.string({ char: 'f', multiple: true, multipleNonGreedy: true, summary: 'name=<regexp> or label=<key>[=<value>]' }),
    format: Flags.string({ summary: "table, json or a Go template such as '{{.Name}}' (fields ID, Name, Labels, File)" }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NetworkLs);
    if (flags.quiet && flags.format) throw usage('--format and --quiet cannot be used together');
    const rows = await listNetworks(createNetworkDeps(this.settingsFrom(flags)), flags.filter ?? []);
    if (flags.quiet) {
      for (const r of rows) if (r.ID !== '') this.out(r.ID);
      return;
    }
    const format = flags.format ?? 'table';
    if (format === 'table' || format === 'wide' || format === '') {
      this.out(formatTable(['NETWORK ID', 'NAME', 'FILE'], rows.map((r) => [r.ID, r.Name, r.File])));
      return;
    }
    const template = format === 'json' ? '{{json .}}' : format;
    for (const r of rows) this.out(renderGoTemplate(template, { ID: r.ID, Name: r.Name, Labels: r.Labels, File: r.File }));
  }
}
