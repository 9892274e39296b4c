/** Gives a bridge an address it lacks (see AttachDeps.addBridgeAddress). */
import { internal } from '../../domain/errors.ts';
import { runProcess } from './run-process.ts';

/** `cidr` is the address with its subnet's prefix, e.g. 10.216.3.1/24. Idempotent. */
export async function addBridgeAddress(link: string, cidr: string): Promise<void> {
  const shown = await runProcess('ip', ['-o', 'addr', 'show', 'dev', link]);
  if (shown.exitCode !== 0) throw internal(`cannot read the addresses of bridge "${link}": ${shown.stderr.trim()}`);
  const address = cidr.split('/')[0]!;
  if (shown.stdout.split('\n').some((line) => line.includes(` ${address}/`))) return;
  const added = await runProcess('ip', ['addr', 'add', cidr, 'dev', link]);
  // A concurrent hook may have added it between the two calls.
  if (added.exitCode !== 0 && !/File exists/.test(added.stderr)) {
    throw internal(`cannot add address ${cidr} to bridge "${link}": ${added.stderr.trim()}`);
  }
}
