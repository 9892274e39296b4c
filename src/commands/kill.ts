import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { killContainer } from '../app/containers/stop-container.ts';
import { parseSignal } from '../domain/signal.ts';
import { openContainers } from '../wiring/containers.ts';

export default class Kill extends BaseCommand {
  static override summary = 'Send a signal to one or more running containers';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };
  static override flags = {
    signal: Flags.string({ char: 's', default: 'KILL', summary: 'signal to send (name or number)' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Kill);
    const signal = parseSignal(flags.signal);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      for (const ref of argv as string[]) {
        await killContainer(handle.ctx, ref, signal);
        this.out(ref);
      }
    } finally {
      handle.close();
    }
  }
}
