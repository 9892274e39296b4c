import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { usage } from '../../domain/errors.ts';
import { reloadContainerNetworks } from '../../app/containers/network-reload.ts';
import { openContainers } from '../../wiring/containers.ts';

export default class NetworkReload extends BaseCommand {
  static override summary = 'Put back the firewall rules of running containers';
  static override description =
    "After something flushed the host's firewall (iptables -F, nft flush ruleset, a firewall service's reload), makes each " +
    "container's rules again as its CNI ADD made them: the bridge plugin's masquerade chain, the port forwards (portmap) and " +
    "the firewall plugin's rules; then the DNS rules of the networks the embedded resolver served (ACCEPT to the gateways' " +
    'port 53 in INPUT). Addresses, interfaces, held ports and DNS records are not touched; rules that are intact stay ' +
    'as they are. Prints the ID of each container reloaded, as podman network reload.';
  static override examples = ['<%= config.bin %> network reload --all', '<%= config.bin %> network reload web db'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'container name or ID' }) };
  static override flags = {
    all: Flags.boolean({ summary: 'reload every running container (no -a: it is the global --address)' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NetworkReload);
    const refs = argv as string[];
    const all = flags.all === true;
    if (all === refs.length > 0) throw usage('network reload: give container names or IDs, or --all (not both)');
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      await reloadContainerNetworks(handle.ctx, refs, all, (id) => this.out(id));
    } finally {
      handle.close();
    }
  }
}
