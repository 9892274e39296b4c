import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { containerPortLines } from '../app/containers/container-ports.ts';
import { openContainers } from '../wiring/containers.ts';

export default class Port extends BaseCommand {
  static override summary = 'List port mappings or a specific mapping for the container';
  static override args = {
    container: Args.string({ required: true, description: 'container name or ID' }),
    port: Args.string({ description: 'PRIVATE_PORT[/PROTO] (protocol defaults to tcp)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Port);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      for (const line of await containerPortLines(handle.ctx, args.container, args.port)) this.out(line);
    } finally {
      handle.close();
    }
  }
}
