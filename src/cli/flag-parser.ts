/**
 * The fast path's flag parser: the plain forms of oclif's grammar, from the
 * flag specs in oclif.manifest.json. It answers only when sure; anything else
 * (unknown or repeated single flags, `-pVALUE`, `-dit`, `--flag=` on a boolean,
 * `--help`, a missing value) is left to oclif, whose errors and help are the
 * ones users get. See src/cli/fast-path.ts.
 */
export interface FlagSpec {
  name: string;
  type: 'option' | 'boolean';
  char?: string | undefined;
  aliases?: string[] | undefined;
  charAliases?: string[] | undefined;
  multiple?: boolean | undefined;
  allowNo?: boolean | undefined;
  default?: unknown;
}

export interface ParsedArgv {
  flags: Record<string, string | string[] | boolean>;
  positionals: string[];
}

/** `undefined`: not a plain command line; let oclif parse it. */
export function parsePlainFlags(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedArgv | undefined {
  const byToken = new Map<string, FlagSpec>();
  for (const spec of Object.values(specs)) {
    if (spec.type !== 'option' && spec.type !== 'boolean') return undefined;
    // A boolean defaulting to false reads the same absent or not; other defaults are oclif's to apply.
    if ((spec.default !== undefined && !(spec.type === 'boolean' && spec.default === false)) || spec.allowNo) return undefined;
    byToken.set(`--${spec.name}`, spec);
    for (const alias of spec.aliases ?? []) byToken.set(`--${alias}`, spec);
    if (spec.char) byToken.set(`-${spec.char}`, spec);
    for (const alias of spec.charAliases ?? []) byToken.set(`-${alias}`, spec);
  }
  const flags: ParsedArgv['flags'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const token = eq === -1 ? arg : arg.slice(0, eq);
    const spec = byToken.get(token);
    if (!spec) return undefined;
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (eq !== -1) return undefined;
      value = true;
    } else if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) return undefined;
      value = next;
      i++;
    }
    if (spec.multiple) {
      const list = (flags[spec.name] as string[] | undefined) ?? [];
      list.push(value as string);
      flags[spec.name] = list;
    } else {
      if (spec.name in flags) return undefined;
      flags[spec.name] = value;
    }
  }
  for (const spec of Object.values(specs)) if (spec.default === false && !(spec.name in flags)) flags[spec.name] = false;
  return { flags, positionals };
}
