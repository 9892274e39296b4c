import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { connectContainer } from '../../app/containers/network-connect.ts';
import { openContainers } from '../../wiring/containers.ts';

export default class NetworkConnect extends BaseCommand {
  static override summary = 'Connect a container to a network';
  static override description =
    'A running container gets the next free interface (eth1, eth2, ...) at once, without a restart, and its peers on the network see it in their hosts files; a created or stopped container joins at its next start. Published ports (-p) stay on the first network.';
  static override examples = [
    '<%= config.bin %> network connect --alias db backend app1',
    '<%= config.bin %> network connect --ip 10.5.0.20 backend app1',
  ];
  static override args = {
    network: Args.string({ required: true, description: 'network name or ID' }),
    container: Args.string({ required: true, description: 'container name or ID' }),
  };
  static override flags = {
    alias: Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      summary: 'add a network-scoped alias for the container (not on the default bridge)',
    }),
    ip: Flags.string({ summary: 'IPv4 address on this network' }),
    ip6: Flags.string({ summary: 'IPv6 address on this network' }),
    'mac-address': Flags.string({ summary: 'MAC address on this network (bridge and macvlan networks)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NetworkConnect);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      await connectContainer(handle.ctx, args.network, args.container, {
        aliases: flags.alias ?? [],
        ip: flags.ip,
        ip6: flags.ip6,
        mac: flags['mac-address'],
      });
    } finally {
      handle.close();
    }
  }
}
