import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { disconnectContainer } from '../../app/containers/network-connect.ts';
import { openContainers } from '../../wiring/containers.ts';

export default class NetworkDisconnect extends BaseCommand {
  static override summary = 'Disconnect a container from a network';
  static override description =
    "A running container loses the interface at once and its IP on the network is free; its names leave the hosts files of the network's containers. A created or stopped container no longer joins the network at start.";
  static override examples = ['<%= config.bin %> network disconnect backend app1'];
  static override args = {
    network: Args.string({ required: true, description: 'network name or ID' }),
    container: Args.string({ required: true, description: 'container name or ID' }),
  };
  static override flags = {
    force: Flags.boolean({ char: 'f', summary: 'succeed also when the attachment or the network is already gone' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NetworkDisconnect);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      await disconnectContainer(handle.ctx, args.network, args.container, flags.force);
    } finally {
      handle.close();
    }
  }
}
