/** `network gc`: runs the use case and prints one line per item released. */
import { networkGc } from '../app/reclaim/network-gc.ts';
import { openReclaim } from '../wiring/reclaim.ts';
import { out, settingsFromFlags, type GlobalFlagValues } from './global-flags.ts';
import { formatTable } from './table.ts';

export async function networkGcAction(
  flags: GlobalFlagValues & { 'dry-run'?: boolean | undefined; format?: string | undefined },
): Promise<void> {
  const { deps, close } = await openReclaim(settingsFromFlags(flags));
  try {
    const { items, errors } = await networkGc(deps, { dryRun: flags['dry-run'] === true });
    if (flags.format === 'json') {
      for (const i of items)
        out(`${JSON.stringify({ Kind: i.kind, Item: i.item, Container: i.container, DryRun: flags['dry-run'] === true })}\n`);
    } else if (items.length > 0) {
      out(
        `${formatTable(
          ['CONTAINER', 'KIND', 'RELEASED'],
          items.map((i) => [i.container, i.kind, i.item]),
        )}\n`,
      );
    }
    errors.throwIfAny();
  } finally {
    close();
  }
}
