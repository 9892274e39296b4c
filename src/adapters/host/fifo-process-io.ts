/**
 * Process stdio through named pipes, as containerd's `cio` does: we make the
 * FIFOs, the shim opens the other ends. The read ends of stdout and stderr are
 * opened non-blocking and read on the event loop (a pipe handle, epoll), never
 * on libuv's thread pool: a blocking open(2) would hold a pool thread until the
 * shim opens its end, after the createRuntime hook, and in the CLI server enough
 * attached runs waiting in their hooks would stall every request's file I/O. Our
 * own write end of each ("keep-alive", as containerd's fifo package holds one)
 * keeps the reader from an end of file before the shim has opened its end, and
 * is closed once the task exists (`taskCreated`): then end of file comes when the
 * container's process, the shim's copy of it and every other writer have closed.
 * stdin (`-i`, CLI processes only) keeps the blocking open of its write end, and
 * close() holds the peer end itself until that open has returned.
 */
import { constants, createWriteStream, mkdirSync, openSync, closeSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { internal } from '../../domain/errors.ts';
import { runProcess } from './run-process.ts';
import { scopeHelper } from '../store/flock.ts';
import { PerlHelperUnavailable } from './perl-helper.ts';
import { inRequest, onRequestSignal, requestStderr, requestStdout } from './request-env.ts';
import type { AttachedIo, ProcessIo } from '../../interfaces/process-io.ts';
import type { TaskStdio } from '../../interfaces/container-runtime.ts';

const FOLLOW_POLL_MS = 200;
/** Docker's sig-proxy: what we receive in the foreground goes to the container. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export class FifoProcessIo implements ProcessIo {
  async attach(dir: string, options: { stdin: boolean }): Promise<AttachedIo> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stdout = join(dir, 'stdout');
    const stderr = join(dir, 'stderr');
    // A CLI server's request has no stdin to give (the client asks for -i only of a CLI process).
    if (options.stdin && inRequest()) throw internal('the CLI server cannot attach stdin');
    const stdin = options.stdin ? join(dir, 'stdin') : '';
    await makeFifos(dir, [stdout, stderr, ...(stdin ? [stdin] : [])]);

    const outputs: FifoReader[] = [];
    try {
      outputs.push(readFifo(stdout, requestStdout()), readFifo(stderr, requestStderr()));
    } catch (err) {
      for (const o of outputs) o.destroy();
      rmSync(dir, { recursive: true, force: true });
      throw internal(`cannot open the stdio FIFOs in "${dir}": ${(err as Error).message}`);
    }
    const drained = Promise.all(outputs.map((o) => o.done)).then(() => undefined);
    const { ended: stdinEnded, settled: stdinOpened } = stdin ? copyIn(stdin) : { ended: Promise.resolve(), settled: Promise.resolve() };
    stdinEnded.catch(() => {});

    let closed = false;
    return {
      stdio: { stdin, stdout, stderr },
      drained,
      stdinEnded,
      taskCreated: () => {
        for (const o of outputs) o.release();
      },
      close: async () => {
        if (closed) return;
        closed = true;
        // The command is over: what the process still writes has no reader here (the shim holds
        // a read end of its own, so the process does not die of SIGPIPE).
        for (const o of outputs) o.destroy();
        const pending: Promise<void>[] = [];
        if (stdin) {
          process.stdin.unpipe();
          process.stdin.destroy();
          pending.push(releaseOpen(stdin, stdinOpened));
        }
        await Promise.all(pending);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  forwardSignals(handler: (signal: number) => void): () => void {
    const listeners = FORWARDED.map((name) => onRequestSignal(name, () => handler(osConstants.signals[name])));
    return () => listeners.forEach((off) => off());
  }

  logTo(logPath: string): TaskStdio {
    const uri = pathToFileURL(logPath).href;
    return { stdin: '', stdout: uri, stderr: uri };
  }

  async printLog(logPath: string, followUntil?: Promise<unknown>): Promise<void> {
    const file = await open(logPath, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!file) return;
    let settled = followUntil === undefined;
    followUntil?.then(
      () => (settled = true),
      () => (settled = true),
    );
    const buf = Buffer.alloc(64 * 1024);
    let offset = 0;
    try {
      for (;;) {
        const wasSettled = settled;
        const { bytesRead } = await file.read(buf, 0, buf.length, offset);
        if (bytesRead > 0) {
          offset += bytesRead;
          await write(requestStdout(), buf.subarray(0, bytesRead));
          continue;
        }
        // One last read after the process ended catches its final output.
        if (wasSettled) return;
        await sleep(FOLLOW_POLL_MS);
      }
    } finally {
      await file.close();
    }
  }
}

export interface FifoReader {
  /** Resolves at end of file (every write end closed), or once destroyed or failed. */
  done: Promise<void>;
  /** Closes our keep-alive write end: the next end of file is the writers' own. */
  release(): void;
  /** Closes both our ends at once. */
  destroy(): void;
}

/**
 * Reads the FIFO at `path` into `to` from a non-blocking read end on the event
 * loop, with a keep-alive write end held until release(). Neither open blocks:
 * the read end's never does, and the write end's finds the read end (no ENXIO).
 */
export function readFifo(path: string, to: NodeJS.WritableStream): FifoReader {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let keepAlive: number | undefined;
  try {
    keepAlive = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  // A FIFO's descriptor becomes a pipe handle (uv_pipe_open), read through epoll.
  const stream = new Socket({ fd, readable: true, writable: false });
  const done = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  stream.pipe(to, { end: false });
  const release = () => {
    if (keepAlive === undefined) return;
    closeSync(keepAlive);
    keepAlive = undefined;
  };
  return {
    done,
    release,
    destroy: () => {
      release();
      stream.unpipe(to);
      stream.destroy();
    },
  };
}

function copyIn(path: string): { ended: Promise<void>; settled: Promise<void> } {
  const sink = createWriteStream(path);
  process.stdin.pipe(sink);
  const ended = new Promise<void>((resolve, reject) => {
    sink.on('finish', resolve);
    sink.on('error', reject);
  });
  return { ended, settled: openSettled(sink) };
}

/** Resolves once the stream's asynchronous open has returned, successfully or not. */
function openSettled(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    for (const event of ['open', 'error', 'close']) stream.once(event, () => resolve());
  });
}

/**
 * Holds both ends of a FIFO (O_RDWR never blocks on Linux) until our own open
 * of it has returned. The open runs on libuv's thread pool and may not have
 * started yet: a one-shot peer open could come too early, and once the FIFO is
 * unlinked nothing could release it, leaving the process unable to exit.
 */
async function releaseOpen(path: string, settled: Promise<void>): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  } catch {
    return; // ENOENT: nothing can be waiting on it
  }
  try {
    await settled;
  } finally {
    closeSync(fd);
  }
}

function write(stream: NodeJS.WritableStream, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(data)) resolve();
    else stream.once('drain', resolve);
  });
}

/**
 * Every attached run makes these: through the process's perl helper (no fork of node: ~3.5 ms
 * of the event loop each, docs/performance.md), else (no perl, another architecture, it died)
 * mkfifo(1) by node:child_process, not execa (~15 ms to load).
 */
async function makeFifos(dir: string, paths: string[]): Promise<void> {
  const left: string[] = [];
  const helper = scopeHelper();
  for (const path of paths) {
    try {
      await helper.mkfifo(path, 0o600);
    } catch (err) {
      if (!(err instanceof PerlHelperUnavailable)) throw internal(`cannot make the stdio FIFOs in "${dir}": ${(err as Error).message}`);
      left.push(path);
    }
  }
  if (left.length === 0) return;
  const made = await runProcess('mkfifo', ['-m', '600', ...left]);
  if (made.exitCode !== 0)
    throw internal(
      `cannot make the stdio FIFOs in "${dir}": ${made.stderr.trim() || made.spawnError?.message || `mkfifo exited with ${made.exitCode}`}`,
    );
}
