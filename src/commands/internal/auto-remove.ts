import { Args } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { autoRemoveOnExit } from '../../app/containers/auto-remove.ts';
import { openContainers } from '../../wiring/containers.ts';

/** Started detached by `run -d --rm`; not for users. */
export default class InternalAutoRemove extends BaseCommand {
  static override hidden = true;
  static override summary = 'Remove a container once its task exits';
  static override args = { id: Args.string({ required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(InternalAutoRemove);
    const handle = await openContainers(this.settingsFrom(flags));
    try {
      await autoRemoveOnExit(handle.ctx, args.id);
    } finally {
      handle.close();
    }
  }
}
