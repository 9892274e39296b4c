import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { splitAtPositional } from '../cli/command-argv.ts';
import { createFlags } from '../cli/create-flags.ts';
import { runAction } from '../cli/container-actions.ts';

export default class Run extends BaseCommand {
  static override summary = 'Run a command in a new container';
  static override strict = false;
  static override examples = ['<%= config.bin %> run --rm busybox echo hello', '<%= config.bin %> run -d --name web busybox httpd -f'];
  static override args = { image: Args.string({ required: true, description: 'image to run' }) };
  static override flags = {
    ...createFlags,
    detach: Flags.boolean({ char: 'd', summary: 'run in the background and print the container ID' }),
    interactive: Flags.boolean({ char: 'i', summary: 'keep stdin open and forward it' }),
  };

  async run(): Promise<void> {
    const { own, rest } = splitAtPositional(this.argv, { ...Run.baseFlags, ...Run.flags }, 1);
    const { args, flags } = await this.parse(Run, own);
    await runAction(flags, args.image, rest);
  }
}
