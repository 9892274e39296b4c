import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { networkInspectAction } from '../../cli/network-actions.ts';

export default class NetworkInspect extends BaseCommand {
  static override summary = 'Display detailed information on one or more networks';
  static override description = 'Docker-compatible JSON. Inspecting `bridge` creates the default network if it does not exist yet.';
  static override strict = false;
  static override args = { network: Args.string({ required: true, description: 'network name or ID (prefix)' }) };
  static override examples = ['<%= config.bin %> network inspect bridge', "<%= config.bin %> network inspect -f '{{.Id}}' mynet"];

  static override flags = {
    format: Flags.string({ char: 'f', summary: "Go template applied to each network, e.g. '{{.Id}}' or '{{json .IPAM}}'" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NetworkInspect);
    await networkInspectAction(flags, argv as string[]);
  }
}
