/**
 * The life of tsnerd's on-demand socket servers (the hook server,
 * src/hook-server/main.ts, and the CLI server, src/cli/cli-server.ts): listen on a
 * unix socket (mode 0600) in place of a killed predecessor's, count connections and
 * requests in flight, exit after `idleMs` with neither, stop taking requests while
 * exiting, and leave no file behind on a clean exit: the socket, the pid file, the
 * lock file (removed while held: holdInstanceLock in daemon-self.ts) and the log when
 * this life wrote all of it and nothing but routine lines (a failed request, an
 * earlier life's crash or node's own warnings keep it, as does a successor being
 * started into the same file). Node built-ins only.
 */
import { chmodSync, existsSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { setPriority } from 'node:os';
import { removeOwnPidFile, reportReady, writePidFile } from './daemon-self.ts';

/** A server's files beside its socket (`<dir>/<build id>.{sock,lock,pid,log,starting}`). */
export interface SocketServerFiles {
  socket: string;
  lock: string;
  pid: string;
  log: string;
  starting: string;
}

/** The server's log (its stderr): what this life wrote, and whether any of it was more than routine. */
export class ServerLog {
  private bytes = 0;
  private noteworthy = false;

  constructor() {
    // stderr is the log file: a write it cannot make (a full disk) is a line lost, not the server's end.
    process.stderr.on('error', () => undefined);
  }

  write(line: string, routine = false): void {
    const text = `${new Date().toISOString()} [${process.pid}] ${line}\n`;
    this.bytes += Buffer.byteLength(text);
    this.noteworthy ||= !routine;
    process.stderr.write(text);
  }

  /** Whether the file at `path` (of `size` bytes) holds this life's routine lines only. */
  onlyRoutine(size: number | undefined): boolean {
    return size === this.bytes && !this.noteworthy;
  }
}

export class SocketServer {
  private server: Server | undefined;
  private connections = 0;
  private inFlight = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  exiting = false;
  /** Requests served, for the exit's log line. */
  served = 0;

  private readonly files: SocketServerFiles;
  private readonly idleMs: number;
  private readonly log: ServerLog;
  /** "hook(s)", "command(s)": what the exit's log line counts. */
  private readonly unit: string;

  constructor(files: SocketServerFiles, idleMs: number, log: ServerLog, unit: string) {
    this.files = files;
    this.idleMs = idleMs;
    this.log = log;
    this.unit = unit;
  }

  listen(onConnection: (socket: Socket) => void): Promise<void> {
    rmSync(this.files.socket, { force: true }); // a socket left by a killed server: we hold the lock now
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => {
        if (this.exiting) {
          socket.destroy(); // no answer: the client does the work itself
          return;
        }
        this.connections++;
        this.cancelIdle();
        socket.on('close', () => {
          this.connections--;
          this.maybeIdle();
        });
        onConnection(socket);
      });
      server.once('error', reject);
      server.listen(this.files.socket, () => {
        chmodSync(this.files.socket, 0o600);
        this.server = server;
        resolve();
      });
    });
  }

  /**
   * Once listening: the pid file, the start marker gone (the next cold client may start a server
   * again, after this one), the normal priority back (started niced: its start-up yields to its
   * starter), the readiness line, the idle clock, the directory check and SIGTERM. A stray
   * rejection of one request's code is logged: it must not take the others down with the process.
   */
  serving(): void {
    writePidFile(this.files.pid);
    rmSync(this.files.starting, { force: true });
    try {
      setPriority(0);
    } catch {
      // not allowed to raise it (not root): serves niced
    }
    this.log.write(`listening on ${this.files.socket}`, true);
    reportReady({ ok: true, pid: process.pid });
    this.maybeIdle();
    setInterval(() => this.checkDir(), 1000).unref();
    process.on('SIGTERM', () => this.exit('SIGTERM'));
    process.on('unhandledRejection', (err) => this.log.write(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));
  }

  /** A request taken: the server does not exit until done() is called for it. */
  begin(): void {
    this.inFlight++;
  }

  done(served: boolean): void {
    this.inFlight--;
    if (served) this.served++;
    this.maybeIdle();
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Nothing in flight and nobody connected: exit after idleMs. */
  maybeIdle(): void {
    if (this.inFlight > 0 || this.connections > 0 || this.idleTimer || this.exiting) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.inFlight > 0 || this.connections > 0) return;
      this.exit(`idle for ${this.idleMs} ms after ${this.served} ${this.unit}`);
    }, this.idleMs);
  }

  /** Stops taking requests (a connection that comes now gets no answer) and exits once none is in flight. */
  exit(why: string): void {
    if (!this.exiting) this.log.write(`exiting: ${why}`, true);
    this.exiting = true;
    this.server?.close();
    if (this.inFlight > 0) {
      setTimeout(() => this.exit(why), 50);
      return;
    }
    rmSync(this.files.socket, { force: true });
    removeOwnPidFile(this.files.pid);
    rmSync(this.files.lock, { force: true });
    const size = statSync(this.files.log, { throwIfNoEntry: false })?.size;
    if (this.log.onlyRoutine(size) && !existsSync(this.files.starting)) rmSync(this.files.log, { force: true });
    process.exit(0);
  }

  /** The data store was removed under us: nothing to serve. */
  checkDir(): void {
    if (!existsSync(dirname(this.files.socket))) this.exit('its directory is gone');
  }
}
