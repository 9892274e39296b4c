import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { loadImages } from '../app/images/load-image.ts';
import { openArchive, openImages } from '../wiring/images.ts';

export default class Load extends BaseCommand {
  static override summary = 'Load an image from an OCI or docker-save tar archive (plain or gzip)';
  static override flags = {
    input: Flags.string({ char: 'i', summary: 'read from this archive file instead of stdin' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Load);
    const settings = this.settingsFrom(flags);
    const entries = await openArchive(flags.input);
    const handle = await openImages(settings);
    try {
      for (const name of await loadImages(handle.backend, entries)) this.out(`Loaded image: ${name}`);
    } finally {
      handle.close();
    }
  }
}
