import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { splitAtPositional } from '../cli/command-argv.ts';
import { createFlags } from '../cli/create-flags.ts';
import { createAction } from '../cli/container-actions.ts';

export default class Create extends BaseCommand {
  static override summary = 'Create a new container without starting it';
  static override strict = false;
  static override args = { image: Args.string({ required: true, description: 'image to create the container from' }) };
  static override flags = { ...createFlags };

  async run(): Promise<void> {
    const { own, rest } = splitAtPositional(this.argv, { ...Create.baseFlags, ...Create.flags }, 1);
    const { args, flags } = await this.parse(Create, own);
    await createAction(flags, args.image, rest);
  }
}
