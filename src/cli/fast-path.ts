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
import { failWith, settingsFromFlags } from './global-flags.ts';
import { CLI_SERVER_START_ENV, startRequestedCliServer } from '../adapters/host/cli-server-process.ts';
import { requestEnv } from '../adapters/host/request-env.ts';

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

/** A command line the fast path runs: its command, flags and what follows the image. */
export interface FastCommand {
  id: string;
  parsed: ParsedArgv;
  rest: string[];
  debug: boolean;
  /** Runs it; throws its failure. */
  run(): Promise<void>;
}

/** The fast path's reading of argv (global flags hoisted), or undefined: oclif runs it. */
export function parseFastCommand(argv: readonly string[]): FastCommand | undefined {
  const topic = argv[0] === 'network' && argv[1] !== undefined;
  const typed = topic ? `network:${argv[1]}` : argv[0];
  const id = typed === undefined ? undefined : (ALIASES[typed] ?? typed);
  const args = argv.slice(topic ? 2 : 1);
  const fast = id === undefined ? undefined : FAST[id];
  if (!fast || id === undefined || requestEnv()['TSNERD_NO_FAST_PATH']) return undefined;
  const command = readManifest()?.[id];
  if (!command) return undefined;
  const { own, rest } = fast.splitsAtImage ? splitAtPositional(args, command.flags, 1) : { own: [...args], rest: [] };
  const parsed = parsePlainFlags(own, command.flags);
  if (!parsed) return undefined;
  const argSpecs = Object.values(command.args);
  if (parsed.positionals.length < argSpecs.filter((a) => a.required).length) return undefined;
  if (command.strict !== false && parsed.positionals.length > argSpecs.length) return undefined;
  return { id, parsed, rest, debug: parsed.flags['debug'] === true, run: async () => (await fast.action())(parsed, rest) };
}

/** Runs the command and returns true, or returns false for oclif to run it. */
export async function runFastPath(argv: readonly string[]): Promise<boolean> {
  const command = parseFastCommand(argv);
  if (!command) return false;
  if (process.env[CLI_SERVER_START_ENV]) startCliServer(command);
  try {
    await command.run();
  } catch (err) {
    failWith(toTsnerdError(err), command.debug);
  }
  return true;
}

/** Read once per process (the CLI server runs many commands). */
let manifest: Record<string, ManifestCommand> | undefined;

/** The client found no CLI server for this command's data root: one is started for the next commands. */
function startCliServer(command: FastCommand): void {
  let dataRoot: string;
  try {
    dataRoot = settingsFromFlags(command.parsed.flags).dataRoot;
  } catch {
    delete process.env[CLI_SERVER_START_ENV];
    return; // the command reports its bad setting
  }
  startRequestedCliServer(dataRoot);
}

function readManifest(): Record<string, ManifestCommand> | undefined {
  try {
    return (manifest ??= (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { commands: Record<string, ManifestCommand> }).commands);
  } catch {
    return undefined; // not built yet (tests of the sources): oclif finds the commands itself
  }
}
