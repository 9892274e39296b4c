/**
 * Cross-process advisory locks with real flock(2) semantics, so tsnerd and
 * nerdctl exclude each other on the same lock files (e.g. NETCONFPATH/.nerdctl.lock).
 *
 * Node cannot call flock(2) itself. We open the lock file, hand the descriptor
 * to `flock(1)` as fd 3 and let it take the lock on that shared open file
 * description: the lock then belongs to our descriptor and outlives the short
 * child, and it is released when we close the descriptor or when this process
 * dies, so a crash never leaves a stale lock behind (unlike O_EXCL or mkdir locks).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TsnerdError } from '../../domain/errors.ts';
import { PerlHelper, PerlHelperUnavailable } from '../host/perl-helper.ts';

export interface LockOptions {
  /** Shared (reader) lock; the default is exclusive. */
  shared?: boolean;
  /** Give up after this long; the default waits for ever, as nerdctl does. */
  timeoutMs?: number;
  /** `path` is a directory (made if missing), locked itself: nerdctl's stores lock their directory, opened read-only. */
  directory?: boolean;
}

/**
 * Runs fn holding the lock. fn gets the locked descriptor: a child process
 * given a copy of it (e.g. as its fd 3) holds the lock too, until it exits,
 * even if this process dies first.
 */
export async function withFlock<T>(path: string, fn: (fd: number) => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const scope = currentScope();
  const registeredFd = scope.registered.get(path);
  if (registeredFd !== undefined && opts.timeoutMs === undefined && scope.helper?.usable) {
    return withRegistered(scope, path, registeredFd, fn, opts.shared ?? false);
  }
  await mkdir(opts.directory ? path : dirname(path), { recursive: true });
  const handle = opts.directory ? await open(path, 'r') : await open(path, 'a', 0o600);
  try {
    await flockFd(handle.fd, path, opts);
    return await fn(handle.fd);
  } finally {
    // Closing the last descriptor of the open file description drops the lock.
    await handle.close();
  }
}

/**
 * Runs fn holding the exclusive flock(2) of the directory `dir` (made if missing), as nerdctl's
 * stores lock theirs. The lock is taken on the helper's own descriptor of the directory: for
 * locks fn hands to no child (no descriptor is given to fn). A `run --rm` takes the name
 * store's lock twice and the hosts store's two to four times: one helper process instead of
 * a flock(1) child per lock. A directory the scope registered (the hook's) is locked
 * through registerLockFiles' helper as before. Without perl, withFlock's flock(1). Killing
 * the helper alone (not this process) drops the lock. `mode`: of the directories made (one
 * mkdir per lock, so a store works on after its data root was removed).
 */
export function withLockedDir<T>(dir: string, fn: () => Promise<T>, opts: { mode?: number } = {}): Promise<T> {
  return withHelperLock(dir, fn, { directory: true, shared: false, ...opts });
}

/**
 * Runs fn holding the flock(2) of the lock file `path` (made if missing), exclusive unless
 * `shared`: withFlock for a lock fn hands to no child, taken through the same helper as
 * withLockedDir's (a `run` takes the conf dir's shared lock and, with -p, the ports lock:
 * no flock(1) child for either). A path the scope registered is locked as withFlock does.
 */
export function withLockedFile<T>(path: string, fn: () => Promise<T>, opts: { shared?: boolean } = {}): Promise<T> {
  return withHelperLock(path, fn, { directory: false, shared: opts.shared ?? false });
}

async function withHelperLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { directory: boolean; shared: boolean; mode?: number },
): Promise<T> {
  const scope = currentScope();
  if (scope.registered.has(path)) return withFlock(path, () => fn(), opts);
  // Synchronous: two or three small steps per lock, several locks per `run`.
  if (opts.directory) mkdirSync(path, { recursive: true, ...(opts.mode === undefined ? {} : { mode: opts.mode }) });
  else {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a', 0o600)); // the helper opens it read-only: it must exist
  }
  const pathHelper = scopeHelper();
  let handle: string;
  try {
    handle = await pathHelper.lockPath(path, opts.shared);
  } catch (err) {
    if (!(err instanceof PerlHelperUnavailable)) throw new TsnerdError('internal', `cannot lock "${path}": ${(err as Error).message}`);
    return withFlock(path, () => fn(), opts);
  }
  try {
    return await fn();
  } finally {
    await pathHelper.unlockPath(handle).catch(() => undefined); // a dead helper has dropped it
  }
}

/**
 * The current scope's own helper (perl-helper.ts), started by its first use: its path locks
 * (withLockedDir, withLockedFile) and what else the scope asks of perl (the FIFOs of an
 * attached run: a `run` has started it for its name lock by then) share one process.
 */
export function scopeHelper(): PerlHelper {
  return (currentScope().ownHelper ??= new PerlHelper([]));
}

/** flock(1)'s exit status when --nonblock finds the lock taken. */
const LOCK_BUSY = 75;

/**
 * Takes the exclusive lock of path without waiting, for the rest of this
 * process's life (a single-instance lock: the kernel drops it when the process
 * dies). The open handle, or undefined when another process holds the lock.
 */
export async function holdFlock(path: string): Promise<FileHandle | undefined> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'a', 0o600);
  try {
    await flockFd(handle.fd, path, { nonblock: true });
    return handle;
  } catch (err) {
    await handle.close();
    if (err instanceof TsnerdError && err.kind === 'conflict') return undefined;
    throw err;
  }
}

function flockFd(fd: number, path: string, opts: LockOptions & { nonblock?: boolean }): Promise<void> {
  const args = [opts.shared ? '--shared' : '--exclusive'];
  if (opts.timeoutMs !== undefined) args.push('--timeout', String(opts.timeoutMs / 1000));
  if (opts.nonblock) args.push('--nonblock', '--conflict-exit-code', String(LOCK_BUSY));
  args.push('3');
  return new Promise((resolve, reject) => {
    const child = spawn('flock', args, { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new TsnerdError('precondition', 'flock(1) is needed to lock tsnerd state (install util-linux)', { cause: err })
          : new TsnerdError('internal', `cannot lock "${path}": ${err.message}`, { cause: err }),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else if (code === LOCK_BUSY && opts.nonblock) reject(new TsnerdError('conflict', `"${path}" is locked by another process`));
      else if (code === 1 && opts.timeoutMs !== undefined) reject(new TsnerdError('timeout', `timed out waiting for lock "${path}"`));
      else reject(new TsnerdError('internal', `cannot lock "${path}": ${stderr.trim() || `flock exited with ${code}`}`));
    });
  });
}

/**
 * Lock files a scope opened up front (registerLockFiles): their locks are
 * taken by one helper process (perl-helper.ts) instead of a flock(1) child each.
 * Each serves one withFlock: it is released as every lock here is, by closing
 * the descriptor (ours and the helper's copy), so a child given a copy (a CNI
 * plugin) still holds it until it exits. Later locks of the same path, and a
 * second one meanwhile, open their own descriptor and use flock(1) as before.
 *
 * A scope is a process (the OCI hook, the CLI: the default scope) or one request of
 * the hook server (src/hook-server/main.ts), which serves several at once: each
 * request has its own scope, so its locks are its own open file descriptions and
 * its own helper, and two requests exclude each other as two hook processes do.
 */
export class LockScope {
  readonly registered = new Map<string, number>();
  helper: PerlHelper | undefined;
  /** `helper` is the process's shared one (shareLockHelper): it outlives the scope, which gives back only its own descriptors. */
  sharesHelper = false;
  /** The scope's own helper (scopeHelper: started by the first path lock or FIFO, then shared within the scope). */
  ownHelper: PerlHelper | undefined;

  /**
   * Ends the scope: closes the descriptors it opened and never locked, and stops its
   * helpers (a lock still held through them is dropped: call it once nothing runs).
   */
  close(): void {
    for (const fd of this.registered.values()) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      if (this.sharesHelper) this.helper?.close(fd).catch(() => undefined); // the helper's copy, never locked
    }
    this.registered.clear();
    if (!this.sharesHelper) this.helper?.stop();
    this.ownHelper?.stop();
    this.helper = undefined;
    this.ownHelper = undefined;
  }
}

const processScope = new LockScope();
let scopeOf: () => LockScope | undefined = () => undefined;

/** The process's one lock helper for every scope (shareLockHelper), and whether taking descriptors over works here. */
let shared: { helper: PerlHelper | undefined; broken: boolean } | undefined;

/**
 * For a process with many scopes (the hook server: one per request): one lock helper, started
 * now, serves the lock files every later scope registers, each handed to it when registered
 * (PerlHelper.adopt: a copy of the scope's own descriptor, pidfd_getfd(2)), instead of a perl
 * start per scope on the request's path. The locks stay on each scope's own open file
 * descriptions: a scope's end closes its descriptors and the helper's copies of them (its locks
 * go, the other scopes' stay); a dead process takes the helper with it (its stdin closes), and
 * with it every copy. Where taking over fails (a kernel before 5.6), or once the helper died,
 * scopes start their own helper as before.
 */
export function shareLockHelper(): void {
  shared = { helper: undefined, broken: false };
  sharedHelper();
}

function sharedHelper(): PerlHelper | undefined {
  if (!shared || shared.broken) return undefined;
  if (shared.helper?.adoptFailed) {
    shared.broken = true;
    return undefined;
  }
  if (!shared.helper?.usable) {
    shared.helper = new PerlHelper([]);
    shared.helper.start();
  }
  return shared.helper;
}

/** How the hook server gives each request its own scope (an AsyncLocalStorage lookup); unset, the process's scope. */
export function setLockScopeProvider(provider: () => LockScope | undefined): void {
  scopeOf = provider;
}

function currentScope(): LockScope {
  return scopeOf() ?? processScope;
}

/**
 * Opens the lock files the current scope is going to take (those that exist: a
 * missing one is created by its first withFlock, the usual way) and starts
 * one lock helper with them. Call it once, before any of them is locked.
 */
export function registerLockFiles(paths: readonly string[]): void {
  const scope = currentScope();
  if (scope.helper) return;
  for (const path of new Set(paths)) {
    try {
      scope.registered.set(path, openSync(path, 'r')); // flock(2) needs no write access; a directory opens so too
    } catch {
      // not there yet (or not ours to open): withFlock opens it the usual way
    }
  }
  if (scope.registered.size === 0) return;
  const common = scope === processScope ? undefined : sharedHelper();
  if (common) {
    scope.helper = common;
    scope.sharesHelper = true;
    for (const fd of scope.registered.values()) common.adopt(fd);
    return;
  }
  scope.helper = new PerlHelper([...scope.registered.values()]);
  scope.helper.start(); // perl starts while this process reads what it needs before its first lock
}

async function withRegistered<T>(scope: LockScope, path: string, fd: number, fn: (fd: number) => Promise<T>, shared: boolean): Promise<T> {
  scope.registered.delete(path);
  const helper = scope.helper!;
  try {
    try {
      await helper.lock(fd, shared);
    } catch (err) {
      if (!(err instanceof PerlHelperUnavailable)) throw new TsnerdError('internal', `cannot lock "${path}": ${(err as Error).message}`);
      await flockFd(fd, path, { shared }); // no perl, or it died: flock(1) on the same descriptor
    }
    return await fn(fd);
  } finally {
    // Closing the last copy of our open file description drops the lock (the helper closes its copy too).
    closeSync(fd);
    await helper.close(fd).catch(() => undefined);
  }
}
