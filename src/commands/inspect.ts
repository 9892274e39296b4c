import { Args } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { inspectContainer } from '../app/containers/inspect-container.ts';
import { openContainers } from '../wiring/containers.ts';

export default class Inspect extends BaseCommand {
  static override summary = 'Show low-level information on containers (Docker-compatible JSON)';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Inspect);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      const results = [];
      for (const ref of argv as string[]) results.push(await inspectContainer(handle.ctx, ref));
      this.out(JSON.stringify(results, null, 4));
    } finally {
      handle.close();
    }
  }
}
