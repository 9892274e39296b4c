import { BaseCommand } from '../cli/base-command.ts';

export default class Version extends BaseCommand {
  static override summary = 'Show the tsnerd version';

  async run(): Promise<void> {
    await this.parse(Version);
    this.out(`tsnerd ${this.config.version} (node ${process.version})`);
  }
}
