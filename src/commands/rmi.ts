import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { removeImages } from '../app/images/remove-images.ts';
import { openImages } from '../wiring/images.ts';

export default class Rmi extends BaseCommand {
  static override summary = 'Remove one or more images';
  static override strict = false;
  static override args = {
    image: Args.string({ required: true, description: 'image name or ID' }),
  };
  static override flags = {
    force: Flags.boolean({ char: 'f', summary: 'do not fail on images that do not exist' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Rmi);
    const handle = await openImages(this.settingsFrom(flags));
    try {
      for (const name of await removeImages(handle.backend, argv as string[], { force: flags.force })) this.out(`Untagged: ${name}`);
    } finally {
      handle.close();
    }
  }
}
