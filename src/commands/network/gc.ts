import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { networkGcAction } from '../../cli/reclaim-actions.ts';

export default class NetworkGc extends BaseCommand {
  static override summary = 'Release network state that no live container owns';
  static override description =
    "Compares the host with the containers containerd knows (tsnerd's, nerdctl's and others', in every namespace) and releases what " +
    "belongs to none that is alive: CNI attachments (DEL from the result cache), host-local IP files, the plugins' iptables rules and " +
    "chains (the firewall plugin's rules in CNI-FORWARD by address: those of addresses in tsnerd's networks that no live container's " +
    'cache entry or lease holds, and second copies of held ones), port reservations, hosts-file entries, and names, state dirs, hosts dirs and snapshots of containers that no longer exist ' +
    '(a create or run still in progress, by its creation claim, is left alone), and the idle bridges of networks tsnerd created ' +
    'whose conflist was deleted by hand; and removes the `run -d --rm` containers that exited after their reaper was killed. ' +
    "It starts again the resolver of records left without one and the agents of this host's overlay networks that do not run " +
    "(their names are back in etcd) or whose supervisor does not, and removes the other hosts' names kept for overlay networks this host no longer has. " +
    'Only networks tsnerd knows are looked at; one line per item released.';
  static override examples = ['<%= config.bin %> network gc --dry-run', '<%= config.bin %> network gc --format json'];

  static override flags = {
    'dry-run': Flags.boolean({ default: false, summary: 'only list what would be released' }),
    format: Flags.string({ options: ['table', 'json'], default: 'table', summary: 'table, or json (one object per line)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(NetworkGc);
    await networkGcAction(flags);
  }
}
