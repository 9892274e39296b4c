/**
 * nerdctl and Docker users put global flags before the command
 * (`tsnerd -n k8s.io network ls`); oclif only parses flags after the command
 * ID. This moves leading global flags to just after the ID, never past it, so
 * a container's own arguments (`run IMAGE CMD --flag`) are left alone.
 */
import { DEBUG_SETTING, settingSpellings } from '../domain/settings.ts';

const GLOBAL_WITH_VALUE = new Set(settingSpellings().keys());
const GLOBAL_BOOLEAN = new Set([`--${DEBUG_SETTING.flag}`]);
const TOPICS = new Set(['network']);

export function hoistGlobalFlags(argv: readonly string[]): string[] {
  const globals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    if (GLOBAL_BOOLEAN.has(arg)) {
      globals.push(arg);
      i += 1;
    } else if (GLOBAL_WITH_VALUE.has(name)) {
      const takesNext = !arg.includes('=');
      globals.push(arg, ...(takesNext && i + 1 < argv.length ? [argv[i + 1]!] : []));
      i += takesNext ? 2 : 1;
    } else break;
  }
  if (globals.length === 0) return [...argv];
  const rest = argv.slice(i);
  const idLength =
    rest[0] !== undefined && TOPICS.has(rest[0]) && rest[1] !== undefined && !rest[1].startsWith('-') ? 2 : rest.length > 0 ? 1 : 0;
  return [...rest.slice(0, idLength), ...globals, ...rest.slice(idLength)];
}
