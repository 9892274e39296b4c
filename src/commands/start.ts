import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { startAction } from '../cli/container-actions.ts';

export default class Start extends BaseCommand {
  static override summary = 'Start one or more stopped containers';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Start);
    await startAction(flags, argv as string[]);
  }
}
