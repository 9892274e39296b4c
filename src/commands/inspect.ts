import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { inspectFormatter } from '../cli/go-template.ts';
import { inspectContainer } from '../app/containers/inspect-container.ts';
import { ErrorList } from '../domain/errors.ts';
import { openContainers } from '../wiring/containers.ts';

export default class Inspect extends BaseCommand {
  static override summary = 'Show low-level information on containers (Docker-compatible JSON)';
  static override description = 'The containers found are shown even when others are not (then exit 1, as Docker).';
  static override strict = false;
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };
  static override examples = [
    '<%= config.bin %> inspect web',
    "<%= config.bin %> inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' web",
    "<%= config.bin %> inspect --format '{{json .NetworkSettings.Ports}}' web",
  ];

  static override flags = {
    format: Flags.string({ char: 'f', summary: "Go template applied to each container, e.g. '{{.NetworkSettings.IPAddress}}', or json" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Inspect);
    const format = inspectFormatter(flags.format);
    const handle = await openContainers(this.settingsFrom(flags));
    const errors = new ErrorList();
    try {
      const results: unknown[] = [];
      for (const ref of argv as string[]) await errors.attempt(async () => results.push(await inspectContainer(handle.ctx, ref)));
      for (const text of format(results)) this.out(text);
    } finally {
      handle.close();
    }
    errors.throwIfAny();
  }
}
