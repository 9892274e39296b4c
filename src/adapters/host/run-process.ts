/**
 * A child process run to completion, output captured, on node:child_process
 * alone. The OCI hook spawns every CNI plugin and iptables through this:
 * execa costs each hook process ~20 ms of module loading before its first
 * spawn (docs/performance.md). The CLI keeps execa.
 */
import { spawn } from 'node:child_process';
import { requestEnv } from './request-env.ts';

export interface RunOptions {
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Added to (and overriding) this process's environment (the hook server: the request's, request-env.ts). */
  env?: Record<string, string>;
  /** false: `env` is the whole environment. */
  extendEnv?: boolean;
  /** Own process group: a timeout then kills whatever the child started too. */
  detached?: boolean;
  /** SIGKILL after this long; `timedOut` says so. */
  timeoutMs?: number;
  /** Descriptors of ours the child gets as its fds 3, 4, … (e.g. a held lock). */
  inheritFds?: readonly number[];
}

export interface RunResult {
  /** null when the child was killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be started (ENOENT, EACCES, ETXTBSY…). */
  spawnError?: NodeJS.ErrnoException;
}

export function runProcess(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(opts.inheritFds ?? [])],
      env: opts.extendEnv === false ? (opts.env ?? {}) : { ...requestEnv(), ...opts.env },
      detached: opts.detached ?? false,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill(child.pid, opts.detached ?? false);
          }, opts.timeoutMs);
    const finish = (r: Omit<RunResult, 'stdout' | 'stderr' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve({ ...r, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), timedOut });
    };
    child.stdout!.on('data', (c: Buffer) => stdout.push(c));
    child.stderr!.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a failed start ends the run here; other errors (a failed kill) wait for 'close'.
      if (child.pid === undefined) finish({ exitCode: null, signal: null, spawnError: err });
    });
    child.on('close', (code, signal) => finish({ exitCode: code, signal }));
    if (child.stdin) {
      // A child that exits without reading its input is not our error (EPIPE).
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

function kill(pid: number | undefined, group: boolean): void {
  if (pid === undefined) return;
  try {
    process.kill(group ? -pid : pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
