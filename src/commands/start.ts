import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { startContainer } from '../app/containers/start-container.ts';
import { openContainers } from '../wiring/containers.ts';

export default class Start extends BaseCommand {
  static override summary = 'Start one or more stopped containers';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Start);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      for (const ref of argv as string[]) {
        await startContainer(handle.ctx, ref);
        this.out(ref);
      }
    } finally {
      handle.close();
    }
  }
}
