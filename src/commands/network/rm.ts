import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { removeNetworks } from '../../app/networks/remove-networks.ts';
import { createNetworkRemovalDeps } from '../../wiring/reclaim.ts';

export default class NetworkRm extends BaseCommand {
  static override summary = 'Remove one or more networks';
  static override description =
    'Refuses the default network, networks not created by tsnerd or nerdctl, and networks in use. Deletes the host bridge.';
  static override aliases = ['network:remove'];
  static override strict = false;
  static override args = { network: Args.string({ required: true, description: 'network name or ID (prefix)' }) };
  static override flags = {
    force: Flags.boolean({
      char: 'f',
      default: false,
      summary: 'do not fail for networks that do not exist; on the last host of an overlay network, also delete its config in etcd',
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NetworkRm);
    const { removed, errors } = await removeNetworks(createNetworkRemovalDeps(this.settingsFrom(flags)), argv as string[], {
      force: flags.force,
    });
    for (const ref of removed) this.out(ref);
    errors.throwIfAny();
  }
}
