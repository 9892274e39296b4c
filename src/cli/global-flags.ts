/** The nerdctl-style global flags' values, and the one way a command fails (oclif or fast path). */
import { loadSettings } from '../adapters/host/settings-loader.ts';
import { requestStderr, requestStdout } from '../adapters/host/request-env.ts';
import { SETTINGS, type SettingFlag, type Settings } from '../domain/settings.ts';
import type { TsnerdError } from '../domain/errors.ts';
import { oneLine } from '../domain/text.ts';

/** Parsed global flags, keyed by flag name (domain/settings.ts SETTINGS). */
export type GlobalFlagValues = { [F in SettingFlag]?: string | undefined } & { debug?: boolean | undefined };

/** Flag > env > config file > default. */
export function settingsFromFlags(flags: GlobalFlagValues): Settings {
  return loadSettings({
    ...Object.fromEntries(SETTINGS.map((spec) => [spec.key, flags[spec.flag]])),
    debug: flags.debug,
  });
}

/** Writes a line to stdout as is. */
export function out(line: string): void {
  requestStdout().write(line.endsWith('\n') ? line : `${line}\n`);
}

/** `tsnerd: <message>` on stderr, the stack only with --debug, and the error's exit code. */
export function failWith(err: TsnerdError, debug: boolean): never {
  process.exit(reportFailure(err, debug));
}

/** failWith's message, without the exit: its exit code (the CLI server's commands end with it). */
export function reportFailure(err: TsnerdError, debug: boolean): number {
  const stderr = requestStderr();
  stderr.write(`tsnerd: ${oneLine(err.message)}\n`);
  if (debug) stderr.write(`${(err.cause as Error | undefined)?.stack ?? err.stack}\n`);
  return err.exitCode;
}
