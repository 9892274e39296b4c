/**
 * Splits `run [flags] IMAGE [ARG...]` (and `exec [flags] CTR CMD...`) at the
 * first positional, so the container's own arguments (`sh -c ...`) are never
 * taken for our flags, as Docker does.
 */
import { usage } from '../domain/errors.ts';

interface FlagDef {
  type: string;
  char?: string | undefined;
  aliases?: string[] | undefined;
  charAliases?: string[] | undefined;
}

export function splitAtPositional(
  argv: readonly string[],
  flags: Record<string, FlagDef>,
  positionals: number,
): { own: string[]; rest: string[] } {
  const takesValue = new Set<string>();
  for (const [name, def] of Object.entries(flags)) {
    if (def.type !== 'option') continue;
    takesValue.add(`--${name}`);
    if (def.char) takesValue.add(`-${def.char}`);
    for (const alias of def.aliases ?? []) takesValue.add(`--${alias}`);
    for (const alias of def.charAliases ?? []) takesValue.add(`-${alias}`);
  }
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--')
      return { own: [...argv.slice(0, i), ...argv.slice(i + 1, i + 1 + positionals)], rest: argv.slice(i + 1 + positionals) };
    if (arg.startsWith('-') && arg !== '-') {
      if (!arg.includes('=') && takesValue.has(arg)) i++;
      continue;
    }
    seen++;
    if (seen === positionals) return { own: argv.slice(0, i + 1), rest: argv.slice(i + 1) };
  }
  return { own: [...argv], rest: [] };
}

/**
 * nerdctl (cobra) takes `--flag=false`/`--flag=true` for boolean flags; oclif
 * only `--flag` and `--no-flag`. Rewrites the first form into the second for
 * the named flags (Go's strconv.ParseBool spellings); other values are a usage error.
 */
export function boolFlagValues(argv: readonly string[], names: readonly string[]): string[] {
  return argv.map((arg) => {
    const eq = arg.indexOf('=');
    if (!arg.startsWith('--') || eq < 0) return arg;
    const name = arg.slice(2, eq);
    if (!names.includes(name)) return arg;
    const value = arg.slice(eq + 1);
    if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return `--${name}`;
    if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return `--no-${name}`;
    throw usage(`invalid value "${value}" for --${name}: must be true or false`);
  });
}
