/**
 * The CLI server: one warm node process per data root and build that runs the
 * fast path's commands (`run`, `create`, `start`, `rm`) for the perl CLI client
 * (src/cli/cli-client.pl, which bin/tsnerd runs), so that a command costs a perl
 * start and a socket round trip instead of a node start, its bundle and its
 * modules (~60 ms before the first containerd call, ~105 ms of CPU per `run -d`:
 * docs/performance.md).
 *
 * Each request runs exactly what a CLI process runs (cli/fast-path.ts), several at
 * once, each with its own environment, working directory, stdout, stderr,
 * forwarded signals and exit code (adapters/host/request-env.ts) and its own lock
 * scope (adapters/store/flock.ts): two requests exclude each other as two CLI
 * processes do. What a request cannot do here it hands back before anything runs
 * ('L': the client runs the command in a node process): stdin (-i), another data
 * root, the fault and trace knobs, a command line the fast path leaves to oclif.
 *
 * Wire (netstrings, `<length>:<bytes>,`): the client sends "tsnerd-cli-1", its pid,
 * the argument count and arguments, the environment count and `NAME=value`
 * entries, later a signal's name (`SIGINT`) for each signal it receives. The
 * server answers 'L', or 'A' and then frames, a type byte and a netstring:
 * 'o' stdout bytes, 'e' stderr bytes, 'k' a signal the command does not forward
 * (the client dies of it, as a CLI process would; the command runs on), 'x' the
 * exit code, then the end of the connection. A connection that ends after 'A'
 * without 'x' is a server that died mid-command: as a CLI process killed with -9,
 * `tsnerd rm -f` or `network gc` cleans up after it. A client that goes away does
 * not stop its command (as Docker's daemon goes on when its CLI is killed).
 *
 * Life: started by a CLI process the client ran because no server answered
 * (adapters/host/cli-server-process.ts), under an exclusive flock(2) of its lock
 * file (a second starter exits); exits after IDLE_MS with nothing in flight.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { chmodSync, existsSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { setPriority } from 'node:os';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { toTsnerdError } from '../domain/errors.ts';
import { envMs, holdInstanceLock, removeOwnPidFile, reportReady, writePidFile } from '../adapters/host/daemon-self.ts';
import { cliServerDataRoot, cliServerFiles } from '../adapters/host/cli-server-process.ts';
import { setRequestEnvProvider, setRequestIoProvider, type Env, type RequestIo } from '../adapters/host/request-env.ts';
import { LockScope, setLockScopeProvider, shareLockHelper } from '../adapters/store/flock.ts';
import { netstring, ProtocolError, Reader } from '../hook-server/protocol.ts';
import { hoistGlobalFlags } from './argv.ts';
import { parseFastCommand } from './fast-path.ts';
import { reportFailure, settingsFromFlags } from './global-flags.ts';

export const CLI_PROTOCOL = 'tsnerd-cli-1';
const IDLE_MS = envMs('TSNERD_CLI_SERVER_IDLE_MS', 5000);
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
/** The signals a client forwards (as a CLI process's sig-proxy: fifo-process-io.ts). */
const SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);
/** What a command needs of a CLI process of its own: these knobs go to one. */
const LOCAL_ENV = ['TSNERD_FAULT', 'TSNERD_TRACE', 'TSNERD_NO_FAST_PATH'];

interface CliRequest {
  pid: number;
  args: string[];
  env: Record<string, string>;
}

interface RequestContext {
  env: Env;
  locks: LockScope;
  io: RequestIo;
}

const context = new AsyncLocalStorage<RequestContext>();

/** What this life wrote to its log (stderr), and whether any of it is more than the routine lines. */
const logged = { bytes: 0, noteworthy: false };

function log(line: string, routine = false): void {
  const text = `${new Date().toISOString()} [${process.pid}] ${line}\n`;
  logged.bytes += Buffer.byteLength(text);
  logged.noteworthy ||= !routine;
  process.stderr.write(text);
}

/** The request at the start of buf and the bytes after it; undefined while more is to come. */
export function decodeCliRequest(buf: Buffer): { request: CliRequest; rest: Buffer } | undefined {
  if (buf.length > MAX_REQUEST_BYTES) throw new ProtocolError(`a request of more than ${MAX_REQUEST_BYTES} bytes`);
  const r = new Reader(buf);
  const version = r.next();
  if (version === undefined) return undefined;
  if (version.toString('latin1') !== CLI_PROTOCOL)
    throw new ProtocolError(`unknown protocol ${JSON.stringify(version.toString('latin1'))}`);
  const pid = r.count('pid');
  if (pid === undefined) return undefined;
  const argc = r.count('argument');
  if (argc === undefined) return undefined;
  const args: string[] = [];
  for (let i = 0; i < argc; i++) {
    const a = r.next();
    if (a === undefined) return undefined;
    args.push(a.toString('utf8'));
  }
  const envc = r.count('environment');
  if (envc === undefined) return undefined;
  const env: Record<string, string> = {};
  for (let i = 0; i < envc; i++) {
    const e = r.next();
    if (e === undefined) return undefined;
    const text = e.toString('utf8');
    const eq = text.indexOf('=');
    if (eq <= 0) throw new ProtocolError(`an environment entry without a name: ${JSON.stringify(text.slice(0, 40))}`);
    env[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return { request: { pid, args, env }, rest: buf.subarray(buf.length - r.rest) };
}

/** What a process sees of the system: its namespaces and its root. */
const VIEW = ['ns/net', 'ns/mnt', 'ns/pid', 'ns/user', 'ns/uts', 'ns/ipc', 'ns/cgroup', 'root'];
let ownView: string[] | undefined;

function sameView(proc: string): boolean {
  ownView ??= VIEW.map((p) => readlinkSync(`/proc/self/${p}`));
  return VIEW.every((p, i) => readlinkSync(`${proc}/${p}`) === ownView![i]);
}

/** One frame to the client: its type byte and a netstring. */
function frame(type: 'o' | 'e' | 'k' | 'x', data: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(type), netstring(typeof data === 'string' ? Buffer.from(data) : data)]);
}

/** A stream of frames of `type` on the client's connection; once the client is gone, what is written goes nowhere. */
function frameStream(socket: Socket, type: 'o' | 'e'): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (socket.destroyed || !socket.writable) return done();
      socket.write(frame(type, chunk), () => done());
    },
  });
}

function ended(stream: Writable): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}

class CliServer {
  private readonly files: ReturnType<typeof cliServerFiles>;
  private readonly dataRoot: string;
  private server: Server | undefined;
  private connections = 0;
  private inFlight = 0;
  private served = 0;
  private exiting = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(socket: string) {
    this.files = cliServerFiles(socket);
    this.dataRoot = cliServerDataRoot(socket);
  }

  listen(): Promise<void> {
    rmSync(this.files.socket, { force: true }); // a socket left by a killed server: we hold the lock now
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.serve(socket));
      server.once('error', reject);
      server.listen(this.files.socket, () => {
        chmodSync(this.files.socket, 0o600);
        this.server = server;
        resolve();
      });
    });
  }

  private serve(socket: Socket): void {
    if (this.exiting) {
      socket.destroy(); // no answer: the client runs the command itself
      return;
    }
    this.connections++;
    this.cancelIdle();
    let pending: Buffer = Buffer.alloc(0);
    let signals: EventEmitter | undefined;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connections--;
      this.maybeIdle();
    });
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      if (signals) {
        pending = this.readSignals(pending, signals, socket);
        return;
      }
      let decoded;
      try {
        decoded = decodeCliRequest(pending);
      } catch (err) {
        log(`refused a request: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      if (!decoded) return;
      signals = new EventEmitter();
      pending = this.readSignals(decoded.rest, signals, socket);
      void this.run(decoded.request, socket, signals);
    });
  }

  /** The signal names in buf, each emitted (or sent back as 'k' when the command does not forward it); the incomplete rest. */
  private readSignals(buf: Buffer, signals: EventEmitter, socket: Socket): Buffer {
    const r = new Reader(buf);
    for (;;) {
      let field: Buffer | undefined;
      try {
        field = r.next();
      } catch {
        socket.destroy();
        return Buffer.alloc(0);
      }
      if (field === undefined) return buf.subarray(buf.length - r.rest);
      const name = field.toString('latin1');
      if (!SIGNALS.has(name)) continue;
      if (signals.listenerCount(name) > 0) signals.emit(name);
      else if (socket.writable) socket.write(frame('k', name));
    }
  }

  private async run(request: CliRequest, socket: Socket, signals: EventEmitter): Promise<void> {
    if (this.exiting || LOCAL_ENV.some((k) => request.env[k])) {
      socket.end('L');
      return;
    }
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${request.pid}/cwd`);
      // A client in another network, mount or pid namespace (a test's "host", a container) or
      // another root: the command must run where it was typed.
      if (!sameView(`/proc/${request.pid}`)) throw new Error('another view of the system');
    } catch {
      socket.end('L'); // the client is gone, not what it says, or elsewhere
      return;
    }
    const stdout = frameStream(socket, 'o');
    const stderr = frameStream(socket, 'e');
    const io: RequestIo = { cwd, stdout, stderr, signals, exitCode: undefined };
    const locks = new LockScope();
    this.inFlight++;
    try {
      await context.run({ env: request.env, locks, io }, async () => {
        const command = parseFastCommand(hoistGlobalFlags(request.args));
        if (!command || command.parsed.flags['interactive'] === true || !this.serves(command.parsed.flags)) {
          socket.end('L');
          return;
        }
        socket.write('A');
        let code: number;
        try {
          await command.run();
          code = io.exitCode ?? 0;
        } catch (err) {
          code = reportFailure(toTsnerdError(err), command.debug);
        }
        await Promise.all([ended(stdout), ended(stderr)]);
        socket.end(frame('x', String(code)));
        this.served++;
      });
    } catch (err) {
      // the command's failures are reported above: this is a bug of ours
      log(`request failed: ${(err as Error).stack ?? String(err)}`);
      socket.destroy();
    } finally {
      locks.close();
      this.inFlight--;
      this.maybeIdle();
    }
  }

  /** The command's data root is this server's (its flags or config file may name another). */
  private serves(flags: Record<string, unknown>): boolean {
    try {
      return settingsFromFlags(flags).dataRoot === this.dataRoot;
    } catch {
      return false; // a bad setting: the CLI process reports it
    }
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  maybeIdle(): void {
    if (this.inFlight > 0 || this.connections > 0 || this.idleTimer || this.exiting) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.inFlight > 0 || this.connections > 0) return;
      this.exit(`idle for ${IDLE_MS} ms after ${this.served} command(s)`);
    }, IDLE_MS);
  }

  /** Stops taking requests and exits once none is in flight; a clean exit leaves no file behind. */
  exit(why: string): void {
    if (!this.exiting) log(`exiting: ${why}`, true);
    this.exiting = true;
    this.server?.close();
    if (this.inFlight > 0) {
      setTimeout(() => this.exit(why), 50);
      return;
    }
    rmSync(this.files.socket, { force: true });
    removeOwnPidFile(this.files.pid);
    rmSync(this.files.lock, { force: true });
    // The log goes when this life wrote all of it and only routine lines (as the hook server's).
    const size = statSync(this.files.log, { throwIfNoEntry: false })?.size;
    if (size === logged.bytes && !logged.noteworthy && !existsSync(this.files.starting)) rmSync(this.files.log, { force: true });
    process.exit(0);
  }

  checkDir(): void {
    if (!existsSync(dirname(this.files.socket))) this.exit('its directory is gone');
  }
}

/** `tsnerd internal cli-server <socket>`: serves until idle. fd 3: readiness pipe (its starter does not wait on it). */
export async function serveCli(socket: string | undefined): Promise<void> {
  if (!socket) {
    reportReady({ ok: false, message: 'usage: cli-server <socket>' });
    process.exit(2);
  }
  try {
    const files = cliServerFiles(socket);
    if (!(await holdInstanceLock(files.lock))) {
      rmSync(files.starting, { force: true });
      reportReady({ ok: false, code: 'BUSY', message: 'another CLI server runs for this socket' });
      process.exit(0);
    }
    setRequestEnvProvider(() => context.getStore()?.env);
    setLockScopeProvider(() => context.getStore()?.locks);
    setRequestIoProvider(() => context.getStore()?.io);
    shareLockHelper();
    const server = new CliServer(socket);
    await server.listen();
    writePidFile(files.pid);
    rmSync(files.starting, { force: true });
    try {
      setPriority(0); // started niced: it serves at the normal priority
    } catch {
      // not allowed to raise it: serves niced
    }
    log(`listening on ${socket}`, true);
    reportReady({ ok: true, pid: process.pid });
    server.maybeIdle();
    setInterval(() => server.checkDir(), 1000).unref();
    process.on('SIGTERM', () => server.exit('SIGTERM'));
    // A stray rejection of one command's code must not take the others down with the process. A thrown
    // exception does (as in the hook server): its clients then fail at once, rather than wait on a
    // command that cannot end, and rm -f or network gc clean up as after a CLI killed with -9.
    process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));
  } catch (err) {
    reportReady({ ok: false, message: (err as Error).message });
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
}
