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
import { rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { envMs, holdInstanceLock, reportReady } from '../adapters/host/daemon-self.ts';
import { ServerLog, SocketServer } from '../adapters/host/socket-server.ts';
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

const serverLog = new ServerLog();
const log = (line: string, routine = false): void => serverLog.write(line, routine);

interface RequestContext {
  env: Env;
  locks: LockScope;
}

const context = new AsyncLocalStorage<RequestContext>();
setRequestEnvProvider(() => context.getStore()?.env);
setLockScopeProvider(() => context.getStore()?.locks);

class HookServer {
  readonly life: SocketServer;

  constructor(socket: string) {
    this.life = new SocketServer(hookServerFiles(socket), IDLE_MS, serverLog, 'hook(s)');
  }

  listen(): Promise<void> {
    return this.life.listen((socket) => this.serve(socket));
  }

  private serve(socket: Socket): void {
    const chunks: Buffer[] = [];
    let taken = false;
    // The client went away before the answer (killed): runc has failed the hook already.
    let replied = false;
    let abandoned = false;
    socket.on('error', () => undefined);
    socket.on('end', () => (abandoned ||= !replied));
    socket.on('close', () => (abandoned ||= !replied));
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
      if (this.life.exiting) {
        socket.destroy();
        return;
      }
      taken = true;
      this.life.begin();
      const req = request;
      // Nothing runs before the client has the acknowledgement: without it, it runs the hook itself.
      socket.write(ACK, (err) => {
        if (err) {
          socket.destroy();
          this.life.done(false);
          return;
        }
        void this.run(req, () => abandoned).then((reply) => {
          replied = true;
          socket.end(reply);
          this.life.done(true);
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
  server.life.serving();
}

try {
  await main();
} catch (err) {
  reportReady({ ok: false, message: (err as Error).message });
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}
