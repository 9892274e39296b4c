/**
 * Base class of every oclif command: the nerdctl-style global flags, settings
 * resolution and the one place where errors become a message and an exit code.
 */
import { Command, Flags, Errors } from '@oclif/core';
import type { Settings } from '../domain/settings.ts';
import { TsnerdError, toTsnerdError } from '../domain/errors.ts';
import { failWith, out, settingsFromFlags, type GlobalFlagValues } from './global-flags.ts';

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    address: Flags.string({ char: 'a', charAliases: ['H'], aliases: ['host'], helpGroup: 'GLOBAL', summary: 'containerd address (env CONTAINERD_ADDRESS)' }),
    namespace: Flags.string({ char: 'n', helpGroup: 'GLOBAL', summary: 'containerd namespace (env CONTAINERD_NAMESPACE)' }),
    'data-root': Flags.string({ helpGroup: 'GLOBAL', summary: 'root of tsnerd persistent state (env TSNERD_DATA_ROOT)' }),
    'cni-path': Flags.string({ helpGroup: 'GLOBAL', summary: 'CNI plugin binary dirs (env CNI_PATH)' }),
    'cni-netconfpath': Flags.string({ helpGroup: 'GLOBAL', summary: 'CNI config dir (env NETCONFPATH)' }),
    debug: Flags.boolean({ helpGroup: 'GLOBAL', summary: 'debug output, stack traces on errors' }),
  };

  private debugEnabled = process.argv.includes('--debug');

  /** Resolves the global settings from parsed flags (flag > env > file > default). */
  protected settingsFrom(flags: GlobalFlagValues): Settings {
    this.debugEnabled = flags.debug === true;
    return settingsFromFlags(flags);
  }

  /** Writes a line to stdout without oclif's formatting. */
  protected out(line: string): void {
    out(line);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing arg) are usage errors.
    if (!(err instanceof TsnerdError) && (err instanceof Errors.CLIError || 'parse' in err || err.oclif)) {
      if (err.oclif?.exit === 0) return;
      const e = new TsnerdError('usage', err.message.split('\n')[0] ?? err.message, { cause: err });
      return this.fail(e);
    }
    return this.fail(toTsnerdError(err));
  }

  private fail(err: TsnerdError): never {
    failWith(err, this.debugEnabled);
  }
}
