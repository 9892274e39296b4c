/**
 * One OCI hook's work: `<createRuntime|postStop|exited> [global flags]` with the
 * container's state on stdin, as a function of (args, env, stdin) to (exit code,
 * stderr text). Both the hook process (src/hook/main.ts, which runc or the hook
 * client starts) and the hook server (src/hook-server/main.ts, one process that
 * serves many hooks) run it. Nothing here keeps state between two calls, and
 * every setting comes from the call's own args and env. It loads neither oclif
 * nor gRPC: it runs on every container start and stop.
 */
import { existsSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHookArgs } from './args.ts';
import { procStatSync } from '../adapters/host/proc.ts';
import { parseOciState, type HookContainer } from '../domain/oci/state.ts';
import { invalid, notFound, usage, toTsnerdError, type TsnerdError } from '../domain/errors.ts';
import { Labels } from '../domain/labels.ts';
import { StateFiles, StoreLayout } from '../domain/store-layout.ts';
import { oneLine, quote } from '../domain/text.ts';
import { createAfterRestartDeps, createNetworkingDeps, registerHookLocks } from '../wiring/attach.ts';
import { reconcileAfterRestart } from '../app/attach/after-restart.ts';
import { setupContainerNetworks } from '../app/attach/setup.ts';
import { releaseExited, teardownContainerNetworks } from '../app/attach/teardown.ts';

export interface HookRequest {
  /** The event, then the global settings as flags. */
  args: readonly string[];
  /** The hook's environment (runc gives it the one the CLI put in the spec). */
  env: Readonly<Record<string, string | undefined>>;
  /** The container's OCI state (runc writes it on the hook's stdin). */
  readStdin: () => Promise<string>;
  /** Milliseconds for the log lines' `+Nms`: since the hook process started, or since the server got the request. */
  elapsedMs: () => number;
  /** Appended to the log's first line: who ran the hook (the hook server says so). */
  via?: string;
  /**
   * Whether the hook's caller is gone (the hook server's client was killed): runc has failed the
   * hook and sent postStop, so a createRuntime still attaching undoes its work instead of going on.
   * A hook process has no such case: killed, it stops.
   */
  abandoned?: () => boolean;
}

export interface HookOutcome {
  code: number;
  /** What the hook writes on its stderr (runc shows it in the error the user gets). */
  stderr: string;
}

export async function runHook(request: HookRequest): Promise<HookOutcome> {
  let log: HookLog | undefined;
  let container: HookContainer | undefined;
  let event: string | undefined;
  const { args } = request;
  const settingsDebug = args.includes('--debug');
  try {
    const parsed = parseHookArgs(args, request.env);
    event = parsed.event;
    const { settings } = parsed;
    // `exited` is not an OCI event: the port holder runs it when a container's init exits on its own.
    if (event !== 'createRuntime' && event !== 'postStop' && event !== 'exited')
      throw usage(`unknown event ${quote(event)}: createRuntime or postStop`);
    const state = parseOciState(await request.readStdin());
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
    log = new HookLog(join(container.stateDir, `oci-hook.${event}.log`), request.elapsedMs);
    const deps = createNetworkingDeps(settings, (line) => log?.write(line));
    deps.log(`${event} ${container.id}${request.via ?? ''}`);
    if (event === 'createRuntime') {
      // First attachment after a reboot or containerd restart: release what the dead tasks held.
      await reconcileAfterRestart(createAfterRestartDeps(settings, deps), container.namespace).catch((err: unknown) =>
        deps.log(`after restart: ${String(err)}`),
      );
    }
    await runEvent(event, container, deps, request.abandoned);
    deps.log('done');
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = toTsnerdError(err);
    log?.write(`error: ${e.message}`);
    if (container && event === 'createRuntime') writeHookError(container.stateDir, e);
    // runc shows the hook's stderr in the error the user gets from `run`.
    let stderr = `tsnerd oci-hook: ${oneLine(e.message)}\n`;
    if (settingsDebug) stderr += `${(e.cause as Error | undefined)?.stack ?? e.stack}\n`;
    return { code: e.exitCode, stderr };
  } finally {
    log?.close();
  }
}

async function runEvent(
  event: string,
  c: HookContainer,
  deps: ReturnType<typeof createNetworkingDeps>,
  abandoned?: () => boolean,
): Promise<void> {
  switch (event) {
    case 'createRuntime':
      try {
        await setupContainerNetworks(
          deps,
          c,
          () => {
            const pidStart = procStatSync(c.pid)?.startTime;
            return deps.state.writeLifecycle(c.stateDir, {
              started_at: new Date().toISOString(),
              pid: c.pid,
              ...(pidStart === undefined ? {} : { pid_start: pidStart }),
              create_error: false,
            });
          },
          abandoned,
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

/** The hook's log in the container's state dir, truncated on every run. */
class HookLog {
  private fd: number | undefined;
  private readonly elapsedMs: () => number;

  constructor(path: string, elapsedMs: () => number) {
    this.elapsedMs = elapsedMs;
    try {
      this.fd = openSync(path, 'w', 0o600);
    } catch {
      this.fd = undefined; // the state dir is gone (container removed): log nowhere
    }
  }

  write(line: string): void {
    // +ms since the hook process started (node's start-up included) or the server got the request:
    // where a slow hook spends its time.
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, `${new Date().toISOString()} +${this.elapsedMs().toFixed(0)}ms ${line}\n`);
    } catch {
      // A full disk: the hook goes on without its log (a line it could not write must not fail the start).
      this.close();
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
