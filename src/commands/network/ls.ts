import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { networkLsAction } from '../../cli/network-actions.ts';

export default class NetworkLs extends BaseCommand {
  static override summary = 'List networks';
  static override aliases = ['network:list'];
  static override examples = [
    '<%= config.bin %> network ls',
    '<%= config.bin %> network ls --filter label=env=prod -q',
    "<%= config.bin %> network ls --format '{{.Name}}'",
    "<%= config.bin %> network ls --format 'table {{.Name}}\\t{{.Driver}}\\t{{.Scope}}' -f driver=bridge",
  ];

  static override flags = {
    quiet: Flags.boolean({ char: 'q', default: false, summary: 'only the short IDs (networks without an ID print nothing)' }),
    'no-trunc': Flags.boolean({ default: false, summary: 'full network IDs (Docker)' }),
    filter: Flags.string({
      char: 'f',
      multiple: true,
      multipleNonGreedy: true,
      summary: 'name=<regexp>, id=<regexp>, label=<key>[=<value>], driver=, scope=local|global, type=custom|builtin',
    }),
    format: Flags.string({
      summary:
        "table, json, a Go template such as '{{.Name}}\\t{{.Driver}}', or 'table TEMPLATE' (fields ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt, File)",
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NetworkLs);
    await networkLsAction(flags);
  }
}
