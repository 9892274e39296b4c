import { createInterface } from 'node:readline/promises';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { pruneNetworks } from '../../app/networks/remove-networks.ts';
import { createNetworkRemovalDeps } from '../../wiring/reclaim.ts';

export default class NetworkPrune extends BaseCommand {
  static override summary = 'Remove all unused networks';
  static override description =
    'Removes every network created by tsnerd or nerdctl, except the default one, that no running container uses.';
  static override flags = { force: Flags.boolean({ char: 'f', default: false, summary: 'do not prompt for confirmation' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(NetworkPrune);
    const deps = createNetworkRemovalDeps(this.settingsFrom(flags));
    if (!flags.force && !(await confirm())) return;
    const { removed, errors } = await pruneNetworks(deps);
    if (removed.length > 0) this.out(`Deleted Networks:\n${removed.join('\n')}\n\n`);
    errors.throwIfAny();
  }
}

/** Asks on stderr; anything but y/Y, and an end of input (stdin closed or /dev/null), is a no (as nerdctl and Docker). */
async function confirm(): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
    const answer = await Promise.race([
      rl.question(
        'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ',
      ),
      closed,
    ]);
    return answer.trim().toLowerCase() === 'y';
  } finally {
    rl.close();
  }
}
