/**
 * `run`, `create`, `start`, `rm`, `network ls` and `network inspect` without
 * oclif: loading @oclif/core and its Config costs a command ~85 ms before any
 * work (docs/performance.md), and these are what scripts and benchmarks call
 * in loops. The flags are
 * read from oclif.manifest.json (generated from the commands at build), parsed
 * by parsePlainFlags, and the same actions run as from the oclif commands.
 * Whatever is not a plain command line (help, unknown flags, odd forms,
 * missing arguments) goes to oclif, so its messages and help are unchanged.
 * TSNERD_NO_FAST_PATH=1 turns it off.
 */
import { readFileSync } from 'node:fs';
import { toTsnerdError } from '../domain/errors.ts';
import { splitAtPositional } from './command-argv.ts';
import { parsePlainFlags, type FlagSpec, type ParsedArgv } from './flag-parser.ts';
import { failWith } from './global-flags.ts';

interface ManifestCommand {
  flags: Record<string, FlagSpec>;
  args: Record<string, { required?: boolean }>;
  strict?: boolean;
}

type Action = (parsed: ParsedArgv, rest: string[]) => Promise<void>;

/** Command → whether its own flags end at the first positional (IMAGE), and its action. */
const FAST: Record<string, { splitsAtImage: boolean; action: () => Promise<Action> }> = {
  run: {
    splitsAtImage: true,
    action: async () => {
      const { runAction } = await import('./container-actions.ts');
      return (p, rest) => runAction(p.flags, p.positionals[0]!, rest);
    },
  },
  create: {
    splitsAtImage: true,
    action: async () => {
      const { createAction } = await import('./container-actions.ts');
      return (p, rest) => createAction(p.flags, p.positionals[0]!, rest);
    },
  },
  start: {
    splitsAtImage: false,
    action: async () => {
      const { startAction } = await import('./container-actions.ts');
      return (p) => startAction(p.flags, p.positionals);
    },
  },
  rm: {
    splitsAtImage: false,
    action: async () => {
      const { rmAction } = await import('./container-actions.ts');
      return (p) => rmAction(p.flags, p.positionals);
    },
  },
  'network:ls': {
    splitsAtImage: false,
    action: async () => {
      const { networkLsAction } = await import('./network-actions.ts');
      return (p) => networkLsAction(p.flags);
    },
  },
  'network:inspect': {
    splitsAtImage: false,
    action: async () => {
      const { networkInspectAction } = await import('./network-actions.ts');
      return (p) => networkInspectAction(p.flags, p.positionals);
    },
  },
};

/** `network ls` is `network:ls` in the manifest; `network list` is its alias. */
const ALIASES: Record<string, string> = { 'network:list': 'network:ls' };

const MANIFEST = new URL('../../oclif.manifest.json', import.meta.url);

/** Runs the command and returns true, or returns false for oclif to run it. */
export async function runFastPath(argv: readonly string[]): Promise<boolean> {
  const topic = argv[0] === 'network' && argv[1] !== undefined;
  const typed = topic ? `network:${argv[1]}` : argv[0];
  const id = typed === undefined ? undefined : (ALIASES[typed] ?? typed);
  const args = argv.slice(topic ? 2 : 1);
  const fast = id === undefined ? undefined : FAST[id];
  if (!fast || process.env['TSNERD_NO_FAST_PATH']) return false;
  const command = readManifest()?.[id!];
  if (!command) return false;
  const { own, rest } = fast.splitsAtImage ? splitAtPositional(args, command.flags, 1) : { own: [...args], rest: [] };
  const parsed = parsePlainFlags(own, command.flags);
  if (!parsed) return false;
  const argSpecs = Object.values(command.args);
  if (parsed.positionals.length < argSpecs.filter((a) => a.required).length) return false;
  if (command.strict !== false && parsed.positionals.length > argSpecs.length) return false;
  const debug = parsed.flags['debug'] === true;
  try {
    await (
      await fast.action()
    )(parsed, rest);
  } catch (err) {
    failWith(toTsnerdError(err), debug);
  }
  return true;
}

function readManifest(): Record<string, ManifestCommand> | undefined {
  try {
    return (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { commands: Record<string, ManifestCommand> }).commands;
  } catch {
    return undefined; // not built yet (tests of the sources): oclif finds the commands itself
  }
}
