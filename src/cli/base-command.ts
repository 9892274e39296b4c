/**
 * Base class of every oclif command: the nerdctl-style global flags, settings
 * resolution and the one place where errors become a message and an exit code.
 */
import { Command, Flags, Errors } from '@oclif/core';
import { DEBUG_SETTING, SETTINGS, type SettingFlag, type SettingSpec, type Settings } from '../domain/settings.ts';
import { TsnerdError, toTsnerdError } from '../domain/errors.ts';
import { oneLine } from '../domain/text.ts';
import { failWith, out, settingsFromFlags, type GlobalFlagValues } from './global-flags.ts';

/** The oclif flag of one global setting, from its row in domain/settings.ts. */
function settingFlag(spec: SettingSpec) {
  type Char = Parameters<typeof Flags.string>[0] extends infer O ? (O extends { char?: infer C } ? C : never) : never;
  return Flags.string({
    ...(spec.char ? { char: spec.char as Char } : {}),
    ...(spec.charAliases ? { charAliases: [...spec.charAliases] as Char[] } : {}),
    ...(spec.aliases ? { aliases: [...spec.aliases] } : {}),
    helpGroup: 'GLOBAL',
    summary: `${spec.summary} (env ${spec.env})`,
  });
}

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    ...(Object.fromEntries(SETTINGS.map((spec) => [spec.flag, settingFlag(spec)])) as Record<SettingFlag, ReturnType<typeof settingFlag>>),
    [DEBUG_SETTING.flag]: Flags.boolean({ helpGroup: 'GLOBAL', summary: DEBUG_SETTING.summary }),
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
      // oclif's messages go on over lines ("Missing 1 required arg:\nnetwork  network name\nSee more help…"):
      // the lines before its hints ("See more help", "Note: …"), on one line.
      const lines = err.message.split('\n');
      const hint = lines.findIndex((l) => /^\s*(See more help with|Note:)/.test(l));
      const text = (hint < 0 ? lines : lines.slice(0, hint)).join('\n');
      const e = new TsnerdError('usage', oneLine(text), { cause: err });
      return this.fail(e);
    }
    return this.fail(toTsnerdError(err));
  }

  private fail(err: TsnerdError): never {
    failWith(err, this.debugEnabled);
  }
}
