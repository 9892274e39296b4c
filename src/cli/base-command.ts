/**
 * Base class of every oclif command: the nerdctl-style global flags, settings
 * resolution and the one place where errors become a message and an exit code.
 */
import { Command, Flags, Errors } from '@oclif/core';
import { loadSettings } from '../adapters/host/settings-loader.ts';
import type { Settings } from '../domain/settings.ts';
import { TsnerdError, toTsnerdError } from '../domain/errors.ts';

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
  protected settingsFrom(flags: {
    address?: string | undefined;
    namespace?: string | undefined;
    'data-root'?: string | undefined;
    'cni-path'?: string | undefined;
    'cni-netconfpath'?: string | undefined;
    debug?: boolean | undefined;
  }): Settings {
    this.debugEnabled = flags.debug === true;
    return loadSettings({
      address: flags.address,
      namespace: flags.namespace,
      dataRoot: flags['data-root'],
      cniPath: flags['cni-path'],
      cniNetconfPath: flags['cni-netconfpath'],
      debug: flags.debug,
    });
  }

  /** Writes a line to stdout without oclif's formatting. */
  protected out(line: string): void {
    process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
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
    process.stderr.write(`tsnerd: ${err.message}\n`);
    if (this.debugEnabled) process.stderr.write(`${(err.cause as Error | undefined)?.stack ?? err.stack}\n`);
    process.exit(err.exitCode);
  }
}
