/**
 * The starter's side of the hook server (src/hook-server/main.ts): which command
 * the CLI puts into a container's spec as its OCI hooks (the perl hook client,
 * src/hook-server/hook-client.pl, or the node hook process as before), where the
 * server of a data store listens, and how a hook process starts one. Node
 * built-ins only: the OCI hook loads it.
 *
 * The socket's name carries the build's id (dist/hook-server/build-id, a hash of
 * the server, hook and client the build made): hooks of containers created by
 * another build never reach this build's server, and the reverse; each build's
 * server starts on demand for its own hooks.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { holdFlock } from '../store/flock.ts';
import { daemonScript, launchDaemon } from './daemon-process.ts';

/** 1 (the default): hooks go through the hook server; 0: each hook is a node process of its own. */
export const HOOK_SERVER_ENV = 'TSNERD_HOOK_SERVER';
/** Set by the hook client when it runs the hook process because no server answered: that process starts one. */
export const HOOK_SERVER_START_ENV = 'TSNERD_HOOK_SERVER_START';
/** Variables of a hook's environment the server it starts is given (test knobs: TSNERD_HOOK_SERVER_IDLE_MS). */
const SERVER_ENV_PREFIX = 'TSNERD_HOOK_SERVER_';
/** On unless TSNERD_HOOK_SERVER=0. */
const DEFAULT_ON = true;

const BUILD_ID_FILE = new URL('../../hook-server/build-id', import.meta.url);
const CLIENT_SCRIPT = new URL('../../hook-server/hook-client.pl', import.meta.url);
/** perl-base's interpreter (essential on Debian). */
const PERL_CANDIDATES = ['/usr/bin/perl', '/bin/perl'];
/**
 * The server's V8 flags (TSNERD_HOOK_SERVER_NODE_FLAGS replaces them, for measurements): a small
 * young generation, as the port holder's (docs/performance.md).
 */
const NODE_FLAGS = ['--max-semi-space-size=1'];
/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** The server's files beside its socket: `<dir>/<build id>.{sock,lock,pid,log,starting}`. */
export function hookServerFiles(socket: string): { socket: string; lock: string; pid: string; log: string; starting: string } {
  const base = socket.replace(/\.sock$/, '');
  return { socket, lock: `${base}.lock`, pid: `${base}.pid`, log: `${base}.log`, starting: `${base}.starting` };
}

/** The nice value the server starts at (hook-server/main.ts takes 0 back once it listens). */
export const STARTING_NICE = 19;

/** A start marker older than this is a start that failed: the next cold hook starts one again. */
const STARTING_MS = 5000;

/** The socket of the hook server of the data store at layoutRoot (StoreLayout.root), for build `buildId`. */
export function hookServerSocket(layoutRoot: string, buildId: string): string {
  return join(layoutRoot, 'hook-server', `${buildId}.sock`);
}

/** This build's id; undefined when the build has no hook server (the sources, or a build that failed to make it). */
export function hookServerBuildId(): string | undefined {
  try {
    const id = readFileSync(BUILD_ID_FILE, 'utf8').trim();
    return /^[0-9a-f]{8,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The OCI hook's argv: the hook client (perl) in front of `hookArgv` (the node hook
 * process's argv, which the client runs itself when no server answers), or
 * `hookArgv` alone when the hook server is off, there is no perl, the build has
 * no server or the socket's path would be too long.
 */
export function hookCommand(layoutRoot: string, hookArgv: readonly string[], env: Readonly<Record<string, string | undefined>>): string[] {
  const setting = env[HOOK_SERVER_ENV];
  if (setting === undefined ? !DEFAULT_ON : setting === '0') return [...hookArgv];
  const setup = (clientSetup ??= findClientSetup());
  if (!setup) return [...hookArgv];
  const socket = hookServerSocket(layoutRoot, setup.id);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) return [...hookArgv];
  return [setup.perl, setup.client, socket, ...hookArgv];
}

/** perl, the client script and the build's id, looked up once per process (a `run` writes two hooks); null: one is missing. */
let clientSetup: { perl: string; client: string; id: string } | null | undefined;

function findClientSetup(): { perl: string; client: string; id: string } | null {
  const perl = PERL_CANDIDATES.find((p) => existsSync(p));
  const id = hookServerBuildId();
  const client = fileURLToPath(CLIENT_SCRIPT);
  return perl && id && existsSync(client) ? { perl, client, id } : null;
}

/**
 * Starts the hook server for `socket`, detached, without waiting for it (the
 * calling hook does its own work meanwhile). Several hooks may start one at
 * once: one wins the lock, the others exit. A failure to start is not the
 * hook's: the next hook starts one again.
 */
export function launchHookServer(socket: string, env: Readonly<Record<string, string | undefined>>): void {
  try {
    const files = hookServerFiles(socket);
    mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
    // 32 cold hooks at once start one server, not 32 node processes of which 31 lose the lock.
    if (!claimStart(files.starting)) return;
    const serverEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) {
      if (k.startsWith(SERVER_ENV_PREFIX) && k !== HOOK_SERVER_START_ENV && v !== undefined) serverEnv[k] = v;
    }
    const flags = env['TSNERD_HOOK_SERVER_NODE_FLAGS']?.split(' ').filter(Boolean) ?? NODE_FLAGS;
    // Niced while it starts (node and its bundle, ~50 ms of CPU), so that on a busy machine the
    // hook that starts it is not slowed down by it; it takes the normal priority back once it listens.
    launchDaemon(daemonScript('hook-server'), [socket], {
      log: files.log,
      env: serverEnv,
      nodeFlags: flags,
      nice: STARTING_NICE,
      what: 'the hook server',
    });
  } catch {
    // no server this time: this hook runs on, the next one tries again
  }
}

/**
 * `network gc`: the files of hook servers that do not run (killed with -9, or of another build):
 * `<dir>/<id>.{sock,pid,starting,lock,log}` of every id whose lock nobody holds and whose start
 * is not under way. They go while gc holds that lock (a server starting meanwhile finds its lock
 * file gone: holdInstanceLock). The files removed (with dryRun: that would be).
 */
export async function removeStaleHookServerFiles(layoutRoot: string, dryRun: boolean): Promise<string[]> {
  return removeStaleServerFiles(join(layoutRoot, 'hook-server'), dryRun);
}

/** removeStaleHookServerFiles for any server of that kind (the CLI server too): the dir of its sockets. */
export async function removeStaleServerFiles(dir: string, dryRun: boolean): Promise<string[]> {
  const names = new Set(await readdir(dir).catch(() => [] as string[]));
  const ids = new Set([...names].map((n) => /^(.+)\.(?:sock|pid|starting|lock|log)$/.exec(n)?.[1]).filter((id) => id !== undefined));
  const removed: string[] = [];
  for (const id of ids) {
    const files = hookServerFiles(join(dir, `${id}.sock`));
    const marker = statSync(files.starting, { throwIfNoEntry: false });
    if (marker && Date.now() - marker.mtimeMs < STARTING_MS) continue;
    const handle = await holdFlock(files.lock); // made if missing: then it goes too
    if (!handle) continue; // its server runs
    try {
      const present = [files.socket, files.pid, files.starting, files.log, files.lock].filter((f) => names.has(basename(f)));
      for (const f of dryRun ? [] : present) rmSync(f, { force: true });
      if (!names.has(basename(files.lock))) rmSync(files.lock, { force: true });
      removed.push(...present);
    } finally {
      await handle.close();
    }
  }
  return removed;
}

/** Creates the start marker (the server removes it once it listens); false while another start is under way. */
export function claimStart(marker: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(marker, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true; // no marker: start anyway
      const age = Date.now() - (statSync(marker, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < STARTING_MS) return false;
      rmSync(marker, { force: true }); // a start that failed (or was killed): ours now
    }
  }
  return false;
}
