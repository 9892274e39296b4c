/** Global settings of the hook process, passed as `--flag value` after the event (no oclif here). */
import { DEBUG_SETTING, resolveSettings, settingSpellings, type SettingKey, type Settings } from '../domain/settings.ts';
import { usage } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';

const FLAG_KEYS = settingSpellings();

export function parseHookArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): { event: string; settings: Settings } {
  const [event, ...rest] = args;
  if (!event) throw usage('missing event (createRuntime or postStop)');
  const flags: Partial<Record<SettingKey, string>> & { debug?: boolean } = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === `--${DEBUG_SETTING.flag}`) {
      flags.debug = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = FLAG_KEYS.get(name);
    if (!key) throw usage(`unknown argument ${quote(arg)}`);
    const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
    if (value === undefined) throw usage(`flag ${name} needs a value`);
    flags[key] = value;
  }
  // The CLI passes every setting explicitly, so the hook never reads the TOML file.
  return { event, settings: resolveSettings({ flags, env, file: {}, defaultCniPath: '/usr/lib/cni' }) };
}
