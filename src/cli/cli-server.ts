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
import { readlinkSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { toTsnerdError } from '../domain/errors.ts';
import { envMs, holdInstanceLock, reportReady } from '../adapters/host/daemon-self.ts';
import { ServerLog, SocketServer } from '../adapters/host/socket-server.ts';
import { cliServerDataRoot, cliServerFiles } from '../adapters/host/cli-server-process.ts';
import { endRequest, setRequestEnvProvider, setRequestIoProvider, type Env, type RequestIo } from '../adapters/host/request-env.ts';
import { LockScope, setLockScopeProvider, shareLockHelper } from '../adapters/store/flock.ts';
import { netstring, ProtocolError, Reader, readArgsAndEnv } from '../hook-server/protocol.ts';
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

const serverLog = new ServerLog();
const log = (line: string, routine = false): void => serverLog.write(line, routine);

/** The request at the start of buf and the bytes after it; undefined while more is to come. */
export function decodeCliRequest(buf: Buffer): { request: CliRequest; rest: Buffer } | undefined {
  if (buf.length > MAX_REQUEST_BYTES) throw new ProtocolError(`a request of more than ${MAX_REQUEST_BYTES} bytes`);
  const r = new Reader(buf);
  const version = r.next();
  if (version === undefined) return undefined;
  if (version.toString('latin1') !== CLI_PROTOCOL)
    throw new ProtocolError(`unknown protocol ${JSON.stringify(version.toString('latin1'))}`);
  const pidField = r.next();
  if (pidField === undefined) return undefined;
  const pid = Number(pidField.toString('latin1'));
  if (!/^\d{1,10}$/.test(pidField.toString('latin1')) || pid < 1) throw new ProtocolError('a bad client pid');
  const fields = readArgsAndEnv(r);
  if (fields === undefined) return undefined;
  return { request: { pid, ...fields }, rest: buf.subarray(buf.length - r.rest) };
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
  readonly life: SocketServer;
  private readonly dataRoot: string;

  constructor(socket: string) {
    this.life = new SocketServer(cliServerFiles(socket), IDLE_MS, serverLog, 'command(s)');
    this.dataRoot = cliServerDataRoot(socket);
  }

  listen(): Promise<void> {
    return this.life.listen((socket) => this.serve(socket));
  }

  private serve(socket: Socket): void {
    let pending: Buffer = Buffer.alloc(0);
    let signals: EventEmitter | undefined;
    socket.on('error', () => undefined);
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
    if (this.life.exiting || LOCAL_ENV.some((k) => request.env[k])) {
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
    const io: RequestIo = { pid: request.pid, cwd, stdout, stderr, signals, exitCode: undefined, atEnd: [] };
    const locks = new LockScope();
    this.life.begin();
    let served = false;
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
        served = true;
      });
    } catch (err) {
      // the command's failures are reported above: this is a bug of ours
      log(`request failed: ${(err as Error).stack ?? String(err)}`);
      socket.destroy();
    } finally {
      endRequest(io, (err) => log(`request end: ${(err as Error).message}`));
      locks.close();
      this.life.done(served);
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
    // A thrown exception ends the server (as the hook server): its clients fail at once rather than
    // wait on a command that cannot end, and rm -f or network gc clean up as after a killed CLI.
    server.life.serving();
  } catch (err) {
    reportReady({ ok: false, message: (err as Error).message });
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
}
