/**
 * Starting a container's task: detached (output appended to the log file in
 * the state dir) or attached (FIFOs copied to our stdio, exit code returned).
 * A stopped task is deleted first, which fires the postStop hook.
 */
import { join } from 'node:path';
import { ERROR_KINDS, TsnerdError, conflict, isTsnerdError, type ErrorKind } from '../../domain/errors.ts';
import type { ExitResult, RootfsMount, TaskStdio } from '../../interfaces/container-runtime.ts';
import type { ContainerContext } from './context.ts';
import { LOG_FILE } from './context.ts';
import { findContainerView, isRunning, networked, type ContainerView } from './container-view.ts';
import { UndoStack } from './undo-stack.ts';
import { joinTarget } from './join-target.ts';
import { parseNetworkMode } from '../../domain/network-mode.ts';
import { decodeContainerLabels } from '../../domain/labels.ts';

/** After the process exits, how long its output may still be flowing (e.g. from a background child). */
const DRAIN_GRACE_MS = 3000;

export async function startContainer(ctx: ContainerContext, ref: string): Promise<string> {
  const view = await findContainerView(ctx, ref);
  if (isRunning(view.task)) return view.id;
  await rejoinNetworkNamespace(ctx, view);
  await startTask(ctx, view, ctx.io.logTo(join(view.stateDir, LOG_FILE)));
  // `create --rm`, then `start`: removed at its exit, as after `run -d --rm` (Docker's daemon does it).
  if (view.owner === 'tsnerd' && decodeContainerLabels(view.record.labels).autoRemove) ctx.host.spawnAutoRemove(view.id);
  return view.id;
}

/**
 * `--net container:<ref>`: the spec names the network namespace of the joined container's init
 * as it was at create (`/proc/<pid>/ns/net`). At a later start that container must run, and
 * the spec names its init now, as Docker and nerdctl rejoin it: the old pid is gone (runc's
 * `lstat /proc/<pid>/ns/net` failed), or worse, reused by another process, whose network
 * namespace (the host's, say) the container would have joined.
 */
async function rejoinNetworkNamespace(ctx: ContainerContext, view: ContainerView): Promise<void> {
  if (view.owner !== 'tsnerd') return;
  const mode = parseNetworkMode(decodeContainerLabels(view.record.labels).networks);
  if (mode.kind !== 'container') return;
  const target = await joinTarget(ctx, mode.container);
  const path = `/proc/${target.pid}/ns/net`;
  const spec = view.record.spec;
  if (spec.linux.namespaces.some((n) => n.type === 'network' && n.path === path)) return;
  const namespaces = spec.linux.namespaces.map((n) => (n.type === 'network' ? { ...n, path } : n));
  await ctx.runtime.updateSpec(view.id, { ...spec, linux: { ...spec.linux, namespaces } });
}

export interface StartTaskOptions {
  /** The caller's undo stack (its rollback deletes the task); a stack of its own by default. */
  undo?: UndoStack;
  /** The snapshot's mounts, if known (else asked of containerd). */
  rootfs?: RootfsMount[] | undefined;
  /** Called once the task exists, before it starts (e.g. to wait for its exit without missing it). */
  onCreated?: () => void;
}

/** Creates and starts the task; the task is deleted again if starting fails. */
export async function startTask(
  ctx: ContainerContext,
  view: ContainerView,
  stdio: TaskStdio,
  options: StartTaskOptions = {},
): Promise<number> {
  const { undo = new UndoStack(), rootfs, onCreated } = options;
  if (isRunning(view.task)) throw conflict(`container "${view.name ?? view.id}" is already running`);
  if (view.task) {
    // A restart: the published ports must still be free (Docker checks at start).
    await ctx.networking.assertPortsFree(networked(view));
    await ctx.runtime.deleteTask(view.id);
  }
  return undo.guard(async () => {
    const mounts = rootfs ?? (await ctx.runtime.snapshotMounts(view.record.snapshotKey));
    undo.push(() =>
      ctx.runtime.deleteTask(view.id).catch((err: unknown) => {
        if (!isTsnerdError(err, 'not-found')) throw err;
      }),
    );
    // The hook gets the deadline: past it, it rolls its attachment back instead of finishing it.
    const timeoutMs = ctx.taskCreateTimeoutMs;
    // Only tsnerd's containers have our hook (and a state dir before their first start).
    if (view.owner === 'tsnerd') {
      await ctx.stateFiles.writeLifecycle(view.stateDir, {
        ...(await ctx.stateFiles.readLifecycle(view.stateDir)),
        start_deadline: Date.now() + timeoutMs,
      });
    }
    const since = Date.now();
    try {
      await ctx.runtime.createTask(view.id, mounts, stdio, { timeoutMs });
    } catch (err) {
      // containerd gave up on the task; a hook still attaching holds the CNI lock (its plugins
      // inherit it), so this waits for it and then detaches whatever it left.
      // The deadline is the cause then, whatever a hook cut short by it reported.
      if (isTsnerdError(err, 'timeout')) {
        await ctx.networking.releaseWithoutTask(networked(view)).catch(() => undefined);
        throw err;
      }
      throw (await hookFailure(ctx, view.stateDir, since, err)) ?? err;
    }
    ctx.host.faultPoint('task-created');
    onCreated?.();
    const pid = await ctx.runtime.startTask(view.id);
    ctx.host.faultPoint('task-started');
    const lifecycle = await ctx.stateFiles.readLifecycle(view.stateDir);
    await ctx.stateFiles.writeLifecycle(view.stateDir, { ...lifecycle, started_at: new Date().toISOString() });
    return pid;
  });
}

/**
 * Runs the task in the foreground: our stdout/stderr get its output, our
 * stdin (with `interactive`) feeds it. Returns the exit code; the stopped
 * task is kept, so `ps -a` shows how it exited.
 */
export async function runAttached(
  ctx: ContainerContext,
  view: ContainerView,
  options: { interactive: boolean; rootfs?: RootfsMount[]; onStarted?: () => void },
): Promise<number> {
  const io = await ctx.io.attach(join(view.stateDir, 'io'), { stdin: options.interactive });
  // Installed before the start, so a signal arriving with the first output is not lost.
  const stopForwarding = ctx.io.forwardSignals((signal) => {
    ctx.runtime.killTask(view.id, signal).catch(() => {});
  });
  try {
    // Its own undo stack: the caller's rollback removes the state dir holding
    // the FIFOs, which must wait until close() has released them.
    // The wait is asked for between create and start (as ctr does): it is in flight when
    // the task starts, so its answer comes with the exit instead of one round trip later.
    let waiting: Promise<ExitResult> | undefined;
    await startTask(ctx, view, io.stdio, {
      rootfs: options.rootfs,
      onCreated: () => {
        io.taskCreated();
        waiting = ctx.runtime.waitTask(view.id);
        waiting.catch(() => {}); // a failed start deletes the task: the wait's own failure is not the news
      },
    });
    options.onStarted?.();
    const exited = waiting ?? ctx.runtime.waitTask(view.id);
    if (options.interactive) {
      io.stdinEnded.then(
        () => ctx.runtime.closeStdin(view.id).catch(() => {}),
        () => {},
      );
    }
    const { exitStatus } = await exited;
    await Promise.race([io.drained, new Promise((r) => setTimeout(r, DRAIN_GRACE_MS).unref())]);
    return exitStatus;
  } finally {
    stopForwarding();
    await io.close();
  }
}

/**
 * runc reports a failed createRuntime hook as one long line of its own
 * ("failed to create shim task: OCI runtime create failed: …, stderr: …");
 * the hook records its own message, which is what the user needs.
 */
async function hookFailure(ctx: ContainerContext, stateDir: string, since: number, cause: unknown): Promise<TsnerdError | undefined> {
  const failure = await ctx.stateFiles.readHookFailure(stateDir);
  // mtime has a coarser clock than Date.now() on some file systems
  if (!failure || failure.at.getTime() < since - 1000) return ownHookMessage(cause);
  const kind = (ERROR_KINDS as readonly string[]).includes(failure.kind) ? (failure.kind as ErrorKind) : 'plugin';
  return new TsnerdError(kind, failure.message, { cause });
}

/**
 * A hook that could record nothing (its hook server died mid-request, killed or crashed)
 * still said why on its stderr, which runc wraps into its own message: that line alone.
 */
function ownHookMessage(cause: unknown): TsnerdError | undefined {
  const text = cause instanceof Error ? cause.message : String(cause);
  const line = /stderr: (tsnerd oci-hook: [^\n]*?)(?:\\n|\n|: unknown|$)/.exec(text)?.[1];
  return line === undefined ? undefined : new TsnerdError('internal', line.replace(/^tsnerd oci-hook: /, 'OCI hook: '), { cause });
}
