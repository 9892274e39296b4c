/**
 * Process stdio through named pipes, as containerd's `cio` does: we make the
 * FIFOs, the shim opens the other ends. Opening a FIFO blocks until the peer
 * opens it, so close() holds the peer end itself until our open has returned.
 */
import { constants, createReadStream, createWriteStream, mkdirSync, openSync, closeSync, rmSync, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
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

    const outputs = [copyOut(stdout, requestStdout()), copyOut(stderr, requestStderr())];
    const drained = Promise.all(outputs.map((o) => o.done)).then(() => undefined);
    const { ended: stdinEnded, settled: stdinOpened } = stdin ? copyIn(stdin) : { ended: Promise.resolve(), settled: Promise.resolve() };
    stdinEnded.catch(() => {});

    let closed = false;
    return {
      stdio: { stdin, stdout, stderr },
      drained,
      stdinEnded,
      close: async () => {
        if (closed) return;
        closed = true;
        const pending = outputs.filter((o) => !o.opened()).map((o) => releaseOpen(o.path, o.settled));
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

function copyOut(path: string, to: NodeJS.WritableStream) {
  let opened = false;
  const stream: ReadStream = createReadStream(path);
  stream.once('open', () => (opened = true));
  const settled = openSettled(stream);
  const done = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  stream.pipe(to, { end: false });
  return { path, done, settled, opened: () => opened };
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
