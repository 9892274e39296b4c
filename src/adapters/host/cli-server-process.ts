/**
 * The starter's side of the CLI server (src/cli/cli-server.ts): where the server of
 * a data root listens, and how a CLI process starts one for the next commands.
 *
 * bin/tsnerd hands `run`, `create`, `start` and `rm` to the perl CLI client
 * (src/cli/cli-client.pl). It reaches the server at
 * `<data root>/cli-server/<build id>.sock`, the data root taken from
 * TSNERD_DATA_ROOT or the default (a command whose flags or config file name
 * another one is refused by the server and runs in a CLI process). When no
 * server answers, the client runs the command in a node CLI process with
 * TSNERD_CLI_SERVER_START set to that socket, and that process starts one,
 * detached, niced, without waiting for it. The build id is the fast path
 * bundle's (dist/cli/fast-main.cjs, its first line): a server never runs the
 * commands of another build's CLI.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchDaemon } from './daemon-process.ts';
import { claimStart, hookServerFiles, removeStaleServerFiles, STARTING_NICE } from './hook-server-process.ts';
import { requestEnv } from './request-env.ts';

/** 0 turns the CLI server off (bin/tsnerd and the client read it). */
export const CLI_SERVER_ENV = 'TSNERD_CLI_SERVER';
/** Set by the client when it runs the command itself because no server answered: the socket to start one on. */
export const CLI_SERVER_START_ENV = 'TSNERD_CLI_SERVER_START';
/** Variables of the starter's environment the server is given (test knobs: TSNERD_CLI_SERVER_IDLE_MS). */
const SERVER_ENV_PREFIX = 'TSNERD_CLI_SERVER_';
/** As bin/tsnerd's (TSNERD_CLI_SERVER_NODE_FLAGS replaces them, for measurements). */
const NODE_FLAGS = ['--min-semi-space-size=16'];
const CLI_SCRIPT = new URL('../../cli.js', import.meta.url);
const SOCKET_NAME = /^[0-9a-f]{12}\.sock$/;

/** The data root a CLI server's socket serves. */
export function cliServerDataRoot(socket: string): string {
  return dirname(dirname(resolve(socket)));
}

/** The server's files: `<data root>/cli-server/<build id>.{sock,lock,pid,log,starting}`. */
export const cliServerFiles = hookServerFiles;

/**
 * Starts the server the client asked for (CLI_SERVER_START_ENV) if it serves `dataRoot`:
 * a command with another data root (a flag, the config file) starts none. The variable is
 * taken out of this process's environment: the containers' hooks inherit that.
 */
export function startRequestedCliServer(dataRoot: string): void {
  const socket = process.env[CLI_SERVER_START_ENV];
  delete process.env[CLI_SERVER_START_ENV];
  if (!socket || !SOCKET_NAME.test(basename(socket)) || cliServerDataRoot(socket) !== resolve(dataRoot)) return;
  try {
    const files = cliServerFiles(socket);
    mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
    if (!claimStart(files.starting)) return; // 32 commands at once start one server
    // libuv's thread pool stays node's default of four: nothing a request does holds a pool thread
    // for long. An attached run's stdio FIFOs, which a blocking open held until its shim opened
    // them after the createRuntime hook, are opened non-blocking and read on the event loop
    // (fifo-process-io.ts); the rest is short file I/O on local files (no fsync, no DNS lookup).
    // A pool of 64 measured the same at 20 runs at once (docs/performance.md).
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(requestEnv())) {
      if (k.startsWith(SERVER_ENV_PREFIX) && k !== CLI_SERVER_START_ENV && v !== undefined) env[k] = v;
    }
    launchDaemon(fileURLToPath(CLI_SCRIPT), ['internal', 'cli-server', socket], {
      log: files.log,
      env,
      nodeFlags: env['TSNERD_CLI_SERVER_NODE_FLAGS']?.split(' ').filter(Boolean) ?? NODE_FLAGS,
      nice: STARTING_NICE,
      what: 'the CLI server',
    });
  } catch {
    // no server this time: the next command asks again
  }
}

/** `network gc`: the files of CLI servers of this data root that do not run (killed, or of another build). */
export function removeStaleCliServerFiles(dataRoot: string, dryRun: boolean): Promise<string[]> {
  return removeStaleServerFiles(join(dataRoot, 'cli-server'), dryRun);
}
