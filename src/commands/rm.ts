import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { rmAction } from '../cli/container-actions.ts';

export default class Rm extends BaseCommand {
  static override summary = 'Remove one or more containers';
  static override aliases = ['remove'];
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', summary: 'force the removal of a running container (SIGKILL)' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Rm);
    await rmAction(flags, argv as string[]);
  }
}
