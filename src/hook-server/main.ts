/**
 * The hook server: one warm node process per data store and build that runs the
 * OCI hooks (createRuntime, postStop) of its containers, so that a hook costs a
 * perl start (the hook client, hook-client.pl) and a socket round trip instead
 * of a node start and module loading (~45–60 ms each, twice per container).
 *
 * It runs the same function as the hook process (src/hook/run-hook.ts), once per
 * request and several at once: each request has its own environment (the
 * hook's, request-env.ts) and its own lock scope (its lock files opened by it,
 * handed to the server's one perl lock helper: flock.ts), so two requests exclude each other
 * exactly as two hook processes do, and the host-wide CNI lock still
 * serialises their ADDs. Nothing else is shared between requests.
 *
 * Life: started by a hook process the client ran because no server answered
 * (hook-server-process.ts); one per socket, under an exclusive flock(2) of
 * `<id>.lock` (a second starter exits); a socket left by a killed server is
 * replaced. It exits after IDLE_MS with no request in flight. A request is
 * acknowledged (one byte) before anything of it runs: a client that got no
 * acknowledgement runs the hook itself; one whose connection ends after it
 * fails the hook (the server died mid-hook: runc fails the task and the CLI
 * rolls back, as after a hook process killed with -9).
 *
 * argv: <socket path>. fd 3: readiness pipe (its starter does not wait on it).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync, existsSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { setPriority } from 'node:os';
import { dirname } from 'node:path';
import { envMs, holdInstanceLock, removeOwnPidFile, reportReady, writePidFile } from '../adapters/host/daemon-self.ts';
import { setRequestEnvProvider, type Env } from '../adapters/host/request-env.ts';
import { hookServerFiles } from '../adapters/host/hook-server-process.ts';
import { LockScope, setLockScopeProvider, shareLockHelper } from '../adapters/store/flock.ts';
import { runHook } from '../hook/run-hook.ts';
import { ACK, ProtocolError, decodeRequest, encodeReply, type HookWireRequest } from './protocol.ts';

/**
 * With nothing in flight, exit after this long. The hooks of one `run --rm` come
 * within a second or so, a burst of `run -d` back to back; an idle server holds
 * ~40 MB. 5 s keeps both warm, and is gone well within the 10 s the e2e harness
 * allows a process to outlive its containers.
 */
const IDLE_MS = envMs('TSNERD_HOOK_SERVER_IDLE_MS', 5000);

/** What this life wrote to its log (stderr), and whether any of it is more than the routine lines. */
const logged = { bytes: 0, noteworthy: false };

function log(line: string, routine = false): void {
  const text = `${new Date().toISOString()} [${process.pid}] ${line}\n`;
  logged.bytes += Buffer.byteLength(text);
  logged.noteworthy ||= !routine;
  process.stderr.write(text);
}

interface RequestContext {
  env: Env;
  locks: LockScope;
}

const context = new AsyncLocalStorage<RequestContext>();
setRequestEnvProvider(() => context.getStore()?.env);
setLockScopeProvider(() => context.getStore()?.locks);

class HookServer {
  private readonly files: ReturnType<typeof hookServerFiles>;
  private server: Server | undefined;
  private connections = 0;
  private inFlight = 0;
  private served = 0;
  private exiting = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(socket: string) {
    this.files = hookServerFiles(socket);
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
      socket.destroy(); // not acknowledged: the client runs the hook itself
      return;
    }
    this.connections++;
    this.cancelIdle();
    const chunks: Buffer[] = [];
    let taken = false;
    // The client went away before the answer (killed): runc has failed the hook already.
    let replied = false;
    let abandoned = false;
    socket.on('error', () => undefined);
    socket.on('end', () => (abandoned ||= !replied));
    socket.on('close', () => {
      abandoned ||= !replied;
      this.connections--;
      this.maybeIdle();
    });
    socket.on('data', (chunk: Buffer) => {
      if (taken) return;
      chunks.push(chunk);
      let request: HookWireRequest | undefined;
      try {
        request = decodeRequest(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      } catch (err) {
        log(`refused a request: ${(err as ProtocolError).message}`);
        socket.destroy();
        return;
      }
      if (request === undefined) return;
      if (this.exiting) {
        socket.destroy();
        return;
      }
      taken = true;
      this.inFlight++;
      const req = request;
      // Nothing runs before the client has the acknowledgement: without it, it runs the hook itself.
      socket.write(ACK, (err) => {
        if (err) {
          this.inFlight--;
          socket.destroy();
          this.maybeIdle();
          return;
        }
        void this.run(req, () => abandoned).then((reply) => {
          this.inFlight--;
          this.served++;
          replied = true;
          socket.end(reply);
          this.maybeIdle();
        });
      });
    });
  }

  private async run(request: HookWireRequest, abandoned: () => boolean): Promise<Buffer> {
    const started = performance.now();
    const locks = new LockScope();
    try {
      const outcome = await context.run({ env: request.env, locks }, () =>
        runHook({
          args: request.args,
          env: request.env,
          readStdin: () => Promise.resolve(request.stdin),
          elapsedMs: () => performance.now() - started,
          via: ` (hook server ${process.pid})`,
          abandoned,
        }),
      );
      return encodeReply(outcome);
    } catch (err) {
      // runHook turns every failure into an outcome; this is a bug of ours
      log(`request failed: ${(err as Error).stack ?? String(err)}`);
      return encodeReply({ code: 1, stderr: `tsnerd oci-hook: internal error in the hook server: ${(err as Error).message}\n` });
    } finally {
      locks.close();
    }
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Nothing in flight and nobody connected: exit after IDLE_MS. */
  maybeIdle(): void {
    if (this.inFlight > 0 || this.connections > 0 || this.idleTimer || this.exiting) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.inFlight > 0 || this.connections > 0) return;
      this.exit(`idle for ${IDLE_MS} ms after ${this.served} hook(s)`);
    }, IDLE_MS);
  }

  /** Stops taking requests (a connection that comes now gets no acknowledgement) and exits once none is in flight. */
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
    this.removeOwnFiles();
    process.exit(0);
  }

  /**
   * A clean exit leaves nothing behind. The lock file goes while we hold it (a starter that
   * opened it meanwhile finds it gone once it has the lock, and leaves it to the next start:
   * holdInstanceLock). The log goes when this life wrote all of it and nothing but the routine
   * lines (a crash's lines of an earlier life, a failed request, node's own warnings: kept),
   * unless a successor is being started (its start marker): it writes to the same file.
   */
  private removeOwnFiles(): void {
    rmSync(this.files.lock, { force: true });
    const size = statSync(this.files.log, { throwIfNoEntry: false })?.size;
    if (size === logged.bytes && !logged.noteworthy && !existsSync(this.files.starting)) rmSync(this.files.log, { force: true });
  }

  /** The data store was removed under us: nothing to serve. */
  checkDir(): void {
    if (!existsSync(dirname(this.files.socket))) this.exit('its directory is gone');
  }
}

async function main(): Promise<void> {
  const socket = process.argv[2];
  if (!socket) {
    reportReady({ ok: false, message: 'usage: hook-server <socket>' });
    process.exit(2);
  }
  const files = hookServerFiles(socket);
  if (!(await holdInstanceLock(files.lock))) {
    // Another server serves (or is exiting): its socket is the one to use; a stale start marker
    // would keep the next cold hooks from starting one once it is gone.
    rmSync(files.starting, { force: true });
    reportReady({ ok: false, code: 'BUSY', message: 'another hook server runs for this socket' });
    process.exit(0);
  }
  // One lock helper for every request, started now: no perl start on a request's path (flock.ts).
  shareLockHelper();
  const server = new HookServer(socket);
  await server.listen();
  writePidFile(files.pid);
  rmSync(files.starting, { force: true }); // the next cold hook may start a server again (after we are gone)
  try {
    setPriority(0); // started niced (hook-server-process.ts): it serves hooks at the normal priority
  } catch {
    // not allowed to raise it (not root): serves niced
  }
  log(`listening on ${socket}`, true);
  reportReady({ ok: true, pid: process.pid });
  server.maybeIdle();
  setInterval(() => server.checkDir(), 1000).unref();
  process.on('SIGTERM', () => server.exit('SIGTERM'));
  // A stray rejection of one request's code must not take the others' hooks down with the process.
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`));
}

try {
  await main();
} catch (err) {
  reportReady({ ok: false, message: (err as Error).message });
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}
