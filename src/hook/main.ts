/**
 * The OCI hook process: `tsnerd internal oci-hook <createRuntime|postStop> [global flags]`.
 * runc starts it with the container's state on stdin. It loads neither oclif
 * nor gRPC: it runs on every container start and stop.
 */
import { existsSync, openSync, readSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHookArgs } from './args.ts';
import { parseOciState, type HookContainer } from '../domain/oci/state.ts';
import { invalid, notFound, usage, toTsnerdError, type TsnerdError } from '../domain/errors.ts';
import { Labels } from '../domain/labels.ts';
import { StateFiles, StoreLayout } from '../domain/store-layout.ts';
import { oneLine, quote } from '../domain/text.ts';
import { createAfterRestartDeps, createNetworkingDeps, registerHookLocks } from '../wiring/attach.ts';
import { reconcileAfterRestart } from '../app/attach/after-restart.ts';
import { setupContainerNetworks } from '../app/attach/setup.ts';
import { releaseExited, teardownContainerNetworks } from '../app/attach/teardown.ts';

export async function runHookMain(args: string[]): Promise<number> {
  let log: HookLog | undefined;
  let container: HookContainer | undefined;
  let event: string | undefined;
  const settingsDebug = args.includes('--debug');
  try {
    const parsed = parseHookArgs(args);
    event = parsed.event;
    const { settings } = parsed;
    // `exited` is not an OCI event: the port holder runs it when a container's init exits on its own.
    if (event !== 'createRuntime' && event !== 'postStop' && event !== 'exited')
      throw usage(`unknown event ${quote(event)}: createRuntime or postStop`);
    const state = parseOciState(await readStdin());
    // The hook writes only into the state dir tsnerd made for this container: an annotation
    // pointing elsewhere, or a container whose dir is gone, is refused before any write.
    const expected = new StoreLayout(settings.dataRoot, settings.address).containerDir(state.namespace, state.id);
    if (state.stateDir !== expected) {
      throw invalid(`annotation ${Labels.stateDir} ${quote(state.stateDir)} is not the state dir of container ${quote(state.id)}`);
    }
    if (!existsSync(expected)) throw notFound(`no state dir for container ${quote(state.id)} in namespace ${quote(state.namespace)}`);
    if (event === 'createRuntime' && state.pid <= 0) throw invalid(`createRuntime needs the container's pid, got ${state.pid}`);
    container = state;
    registerHookLocks(settings, container.namespace);
    log = new HookLog(join(container.stateDir, `oci-hook.${event}.log`));
    const deps = createNetworkingDeps(settings, (line) => log?.write(line));
    deps.log(`${event} ${container.id}`);
    if (event === 'createRuntime') {
      // First attachment after a reboot or containerd restart: release what the dead tasks held.
      await reconcileAfterRestart(createAfterRestartDeps(settings, deps), container.namespace).catch((err: unknown) =>
        deps.log(`after restart: ${String(err)}`),
      );
    }
    await runEvent(event, container, deps);
    deps.log('done');
    return 0;
  } catch (err) {
    const e = toTsnerdError(err);
    log?.write(`error: ${e.message}`);
    if (container && event === 'createRuntime') writeHookError(container.stateDir, e);
    // runc shows the hook's stderr in the error the user gets from `run`.
    process.stderr.write(`tsnerd oci-hook: ${oneLine(e.message)}\n`);
    if (settingsDebug) process.stderr.write(`${(e.cause as Error | undefined)?.stack ?? e.stack}\n`);
    return e.exitCode;
  } finally {
    log?.close();
  }
}

async function runEvent(event: string, c: HookContainer, deps: ReturnType<typeof createNetworkingDeps>): Promise<void> {
  switch (event) {
    case 'createRuntime':
      try {
        await setupContainerNetworks(deps, c, () =>
          deps.state.writeLifecycle(c.stateDir, { started_at: new Date().toISOString(), pid: c.pid, create_error: false }),
        );
      } catch (err) {
        await deps.state.writeLifecycle(c.stateDir, { create_error: true }).catch(() => undefined);
        throw err;
      }
      return;
    case 'postStop':
      await teardownContainerNetworks(deps, c);
      return;
    case 'exited':
      // Not an OCI event: the port holder runs it when a container's init exits on its own.
      await releaseExited(deps, c);
      return;
    default:
      throw usage(`unknown event ${quote(event)}`);
  }
}

/**
 * The failure for the CLI: runc wraps the hook's stderr into a long error of
 * its own, so the CLI reads this file (written before the CLI's rollback
 * removes the state dir) and shows the hook's message alone.
 */
function writeHookError(stateDir: string, e: TsnerdError): void {
  try {
    writeFileSync(join(stateDir, StateFiles.createRuntimeError), JSON.stringify({ kind: e.kind, message: oneLine(e.message) }), {
      mode: 0o600,
    });
  } catch {
    // the state dir is gone: nobody is waiting for this message
  }
}

async function readStdin(): Promise<string> {
  // runc writes the state into a pipe and closes it: blocking reads to EOF, without making
  // process.stdin (a stream over the pipe, ~3–6 ms of a hook's start-up). A non-blocking
  // descriptor that has nothing more yet (EAGAIN) is read on as a stream, keeping what came.
  const chunks: Buffer[] = [];
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (let n = readSync(0, buf); n > 0; n = readSync(0, buf)) chunks.push(Buffer.from(buf.subarray(0, n)));
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
  }
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The hook's log in the container's state dir, truncated on every run. */
class HookLog {
  private fd: number | undefined;

  constructor(path: string) {
    try {
      this.fd = openSync(path, 'w', 0o600);
    } catch {
      this.fd = undefined; // the state dir is gone (container removed): log nowhere
    }
  }

  write(line: string): void {
    // +ms since this process started (node's start-up included): where a slow hook spends its time.
    // process.uptime, not performance.now: the latter loads perf_hooks (~1 ms of each hook's start-up).
    if (this.fd !== undefined) writeSync(this.fd, `${new Date().toISOString()} +${(process.uptime() * 1000).toFixed(0)}ms ${line}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
