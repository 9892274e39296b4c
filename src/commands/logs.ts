import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { printContainerLogs } from '../app/containers/container-logs.ts';
import { openContainers } from '../wiring/containers.ts';

export default class Logs extends BaseCommand {
  static override summary = 'Fetch the logs of a container (stdout and stderr, interleaved)';
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };
  static override flags = {
    follow: Flags.boolean({ char: 'f', summary: 'follow log output until the container exits' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      await printContainerLogs(handle.ctx, args.container, { follow: flags.follow });
    } finally {
      handle.close();
    }
  }
}
