import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { pullImage } from '../app/images/pull-image.ts';
import { openImages, openRegistry } from '../wiring/images.ts';

export default class Pull extends BaseCommand {
  static override summary = 'Pull an image (linux/amd64) from a registry';
  static override args = {
    image: Args.string({ required: true, description: 'image reference, e.g. busybox or 127.0.0.1:5000/busybox:latest' }),
  };
  static override flags = {
    'insecure-registry': Flags.boolean({ summary: 'use plain HTTP to talk to the registry' }),
    quiet: Flags.boolean({ char: 'q', summary: 'no progress output' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Pull);
    const handle = await openImages(this.settingsFrom(flags));
    const showProgress = !flags.quiet && process.stderr.isTTY === true;
    try {
      const registry = openRegistry({ insecure: flags['insecure-registry'] });
      const name = await pullImage(handle.backend, registry, args.image, (e) => {
        if (showProgress) process.stderr.write(`${e.id}: ${e.status}\n`);
      });
      this.out(name);
    } finally {
      handle.close();
    }
  }
}
