import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { stopContainer } from '../app/containers/stop-container.ts';
import { openContainers } from '../wiring/containers.ts';

export default class Stop extends BaseCommand {
  static override summary = 'Stop one or more running containers (SIGTERM, then SIGKILL)';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };
  static override flags = {
    time: Flags.integer({ char: 't', min: 0, default: 10, summary: 'seconds to wait before killing the container' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Stop);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      for (const ref of argv as string[]) {
        await stopContainer(handle.ctx, ref, flags.time);
        this.out(ref);
      }
    } finally {
      handle.close();
    }
  }
}
