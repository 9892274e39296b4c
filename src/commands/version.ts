import { BaseCommand } from '../cli/base-command.ts';
import { openImages } from '../wiring/images.ts';

export default class Version extends BaseCommand {
  static override summary = 'Show the tsnerd and containerd versions';

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    this.out('Client:');
    this.out(` Version:\t${this.config.version}`);
    this.out(` Node:\t\t${process.version}`);
    this.out('');
    const handle = await openImages(this.settingsFrom(flags));
    try {
      const server = await handle.backend.serverVersion();
      this.out('Server:');
      this.out(' containerd:');
      this.out(`  Version:\t${server.version}`);
      this.out(`  GitCommit:\t${server.revision}`);
    } finally {
      handle.close();
    }
  }
}
