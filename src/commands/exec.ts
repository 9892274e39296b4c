import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.ts';
import { splitAtPositional } from '../cli/command-argv.ts';
import { execInContainer } from '../app/containers/exec-in-container.ts';
import { parseEnvFlags } from '../domain/container-flags.ts';
import { usage } from '../domain/errors.ts';
import { openContainers } from '../wiring/containers.ts';

export default class Exec extends BaseCommand {
  static override summary = 'Run a command in a running container';
  static override strict = false;
  static override examples = ['<%= config.bin %> exec web cat /etc/hosts'];
  static override args = { container: Args.string({ required: true, description: 'container name or ID' }) };
  static override flags = {
    interactive: Flags.boolean({ char: 'i', summary: 'keep stdin open and forward it' }),
    env: Flags.string({ char: 'e', multiple: true, multipleNonGreedy: true, summary: 'set environment variables' }),
    workdir: Flags.string({ char: 'w', summary: 'working directory inside the container' }),
  };

  async run(): Promise<void> {
    const { own, rest } = splitAtPositional(this.argv, { ...Exec.baseFlags, ...Exec.flags }, 1);
    const { args, flags } = await this.parse(Exec, own);
    if (rest.length === 0) throw usage('exec needs a command to run');
    const input = { args: rest, interactive: flags.interactive, env: parseEnvFlags(flags.env ?? [], process.env), workdir: flags.workdir };
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      process.exitCode = await execInContainer(handle.ctx, args.container, input);
    } finally {
      handle.close();
    }
  }
}
