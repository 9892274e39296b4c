/**
 * The starter's side of tsnerd's on-demand processes (the port holder
 * src/reserver/main.ts, the DNS resolver src/dns-server/main.ts, the overlay
 * agent src/overlay-agent/main.ts): each is spawned detached, stdout and
 * stderr to its log file (never the caller's stdio: a runc hook is not kept
 * waiting on it), and tells its starter on a pipe at fd 3 whether it came up:
 * one JSON line {"ok":true,...} or {"ok":false,"message":...}
 * (src/adapters/host/daemon-self.ts is the process's side). This module also
 * finds such a process by its pid file and command line, and stops it.
 * Node built-ins only: the OCI hook loads it.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { TsnerdError, internal } from '../../domain/errors.ts';
import { READY_FD } from './daemon-self.ts';
import { procStatSync, signalIfAlive, waitUntilGone } from './proc.ts';
import { requestEnv } from './request-env.ts';

/** The entry processes, by their folder under src/ (compiled: dist/). */
export type DaemonName = 'reserver' | 'dns-server' | 'overlay-agent' | 'hook-server';

/** The first line a process writes on its readiness pipe. */
export interface ReadyMessage {
  ok: boolean;
  message?: string;
}

export interface SpawnDaemonOptions {
  /** Its stdout and stderr (appended). */
  log: string;
  /** Variables besides PATH (the caller's, else a default); nothing else of the caller's environment is passed. */
  env?: Readonly<Record<string, string>>;
  /** Runtime flags (heap sizes); Node's flags, ignored by a runtime that lacks them. */
  nodeFlags?: readonly string[];
  /** Wait this long for the readiness line, then kill it and fail with a timeout. */
  readyTimeoutMs: number;
  /** For messages: "the port holder". */
  what: string;
  /**
   * Run through this program (a supervisor: the overlay agent's supervise.pl): `command
   * ...args <runtime> <flags> <script> <script's args>`. A start that times out kills the
   * process group (the wrapper and what it started).
   */
  wrapper?: { command: string; args: readonly string[] };
}

// The entry scripts sit next to this module's tree, compiled (.js, dist/) or not (.ts, tests).
const EXT = extname(fileURLToPath(import.meta.url));
const DEFAULT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** iptables lives in sbin, which runc's minimal hook environment (or a caller's PATH) may lack. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * PATH of the tsnerd processes that run the CNI plugins (the OCI hooks, the
 * port holder's exit command, which runs the hook's `exited` event): the PATH
 * of `env` (this process's), with the sbin dirs it lacks appended (a hook's own
 * hooks and exit commands inherit it: it does not grow with each generation).
 */
export function hookPath(env: Readonly<Record<string, string | undefined>> = requestEnv()): string {
  const path = env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin';
  const dirs = path.split(':');
  return [path, ...SBIN.filter((d) => !dirs.includes(d))].join(':');
}

/**
 * The entry script of a daemon, next to this module's tree: compiled, its
 * one-file CommonJS bundle when the build made one (main.cjs: the resolver,
 * scripts/bundle-dns-server.ts), else tsc's main.js.
 */
export function daemonScript(name: DaemonName): string {
  const script = fileURLToPath(new URL(`../../${name}/main${EXT}`, import.meta.url));
  const bundled = EXT === '.js' ? `${script.slice(0, -EXT.length)}.cjs` : undefined;
  return bundled !== undefined && existsSync(bundled) ? bundled : script;
}

/**
 * The one place that decides how a tsnerd process is run (the on-demand
 * processes, the OCI hooks, the port holder's exit command, run --rm's
 * auto-remove): the runtime running this one, with the flags given for it. --lite-mode (no optimising compiler)
 * only for compiled code: it has no WebAssembly, which Node's type stripping needs.
 */
export function runtimeArgv(script: string, args: readonly string[], nodeFlags: readonly string[] = []): [string, string[]] {
  const flags = nodeFlags.filter((f) => EXT === '.js' || f !== '--lite-mode');
  return [process.execPath, [...flags, script, ...args]];
}

/**
 * Starts script detached and resolves with the first line it writes on fd 3
 * (`{ok:false}` with a message naming the log when it exits without one). The
 * child is unref'd: the caller may exit while it runs on.
 */
export async function spawnDaemon<T extends ReadyMessage = ReadyMessage>(
  script: string,
  args: readonly string[],
  opts: SpawnDaemonOptions,
): Promise<T> {
  const log = await open(opts.log, 'a');
  let child;
  try {
    child = spawnDetached(script, args, opts, log.fd);
  } finally {
    await log.close();
  }
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  try {
    const ready = await readReady<T>(child.stdio[READY_FD] as Readable, opts, () => {
      if (opts.wrapper !== undefined && child.pid !== undefined) signalIfAlive(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    });
    if (spawnError) throw internal(`failed to start ${opts.what}: ${spawnError.message}`, { cause: spawnError });
    return ready;
  } finally {
    child.unref();
  }
}

/**
 * Starts script detached as spawnDaemon does, without waiting for it: its
 * readiness pipe is closed at once (its readiness line goes nowhere). For a
 * starter that must not wait (an OCI hook starting the hook server for the
 * next hooks); a start that fails shows in the log only. Throws only when
 * the log cannot be opened.
 */
export function launchDaemon(
  script: string,
  args: readonly string[],
  opts: Omit<SpawnDaemonOptions, 'readyTimeoutMs'> & {
    /** Start it at this nice value (it may restore its own once up): its start-up then yields the CPU to the starter. */
    nice?: number;
  },
): void {
  const log = openSync(opts.log, 'a', 0o600);
  try {
    const child = spawnDetached(script, args, opts, log);
    child.on('error', () => undefined); // e.g. the runtime is gone: the hook goes on without a server
    if (opts.nice !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, opts.nice);
      } catch {
        // it starts at our priority
      }
    }
    (child.stdio[READY_FD] as Readable | null)?.destroy();
    child.unref();
  } finally {
    closeSync(log);
  }
}

/** script run detached in its own session from /, its output appended to the log `logFd`, fd 3 its readiness pipe. */
function spawnDetached(
  script: string,
  args: readonly string[],
  opts: Pick<SpawnDaemonOptions, 'env' | 'nodeFlags' | 'wrapper'>,
  logFd: number,
) {
  const [runtime, runtimeArgs] = runtimeArgv(script, args, opts.nodeFlags);
  const [command, argv] = opts.wrapper ? [opts.wrapper.command, [...opts.wrapper.args, runtime, ...runtimeArgs]] : [runtime, runtimeArgs];
  return spawn(command, argv, {
    detached: true,
    cwd: '/',
    env: { PATH: requestEnv()['PATH'] ?? DEFAULT_PATH, ...opts.env },
    stdio: ['ignore', logFd, logFd, 'pipe'],
  });
}

function readReady<T extends ReadyMessage>(pipe: Readable, opts: SpawnDaemonOptions, kill: () => void): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      kill();
      reject(new TsnerdError('timeout', `${opts.what} did not become ready within ${opts.readyTimeoutMs / 1000}s (see ${opts.log})`));
    }, opts.readyTimeoutMs);
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => (text += chunk));
    pipe.on('error', () => undefined);
    pipe.on('close', () => {
      clearTimeout(timer);
      try {
        resolvePromise(JSON.parse(text.split('\n')[0] ?? '') as T);
      } catch {
        resolvePromise({ ok: false, message: `${opts.what} exited before it was ready (see ${opts.log})` } as T);
      }
    });
  });
}

/**
 * The pid in pidFile if /proc shows it live (not a zombie) and running script
 * with `arg` right after it (its state dir): a recycled pid is never taken for it.
 */
export async function daemonPid(pidFile: string, script: DaemonName, arg: string): Promise<number | undefined> {
  // Synchronous reads (here and in isDaemon): three small files, on the path of every DNS join and
  // port reserve, where each async read is four thread-pool round trips.
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return (await isDaemon(pid, script, arg)) ? pid : undefined;
}

/** True while pid is a live (not zombie) `script arg` process. */
export async function isDaemon(pid: number, script: DaemonName, arg: string): Promise<boolean> {
  const pattern = new RegExp(`[/\\\\]${script}[/\\\\]main\\.(c?js|ts)$`);
  try {
    if (!procStatSync(pid)?.live) return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const at = argv.findIndex((a) => pattern.test(a));
    return at > 0 && argv[at + 1] === arg;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL when it has not gone within timeoutMs; fails if it survives both. */
export async function stopDaemon(
  pid: number,
  stillThere: () => Promise<boolean>,
  opts: { timeoutMs: number; what: string },
): Promise<void> {
  signalIfAlive(pid, 'SIGTERM');
  if (await waitUntilGone(stillThere, opts.timeoutMs)) return;
  signalIfAlive(pid, 'SIGKILL');
  if (!(await waitUntilGone(stillThere, opts.timeoutMs))) throw internal(`${opts.what} ${pid} did not exit`);
}
