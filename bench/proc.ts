/** Spawning and timing the commands under test. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Timed {
  ms: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOpts {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** Wall time from spawn to exit, measured here; never throws (a missing binary is exit 127). */
export function timeCmd(cmd: string, args: readonly string[], opts: SpawnOpts = {}): Promise<Timed> {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    let failed: Error | undefined;
    child.on('error', (e) => {
      failed = e;
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('close', (code, signal) => {
      const ms = performance.now() - start;
      clearTimeout(timer);
      resolve({
        ms,
        exitCode: failed ? 127 : (code ?? (signal ? 128 : 1)),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: failed ? String(failed.message) : Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

/** Like timeCmd, but fails with the first stderr line when the exit code is not 0. */
export async function mustTime(cmd: string, args: readonly string[], opts: SpawnOpts = {}): Promise<Timed> {
  const r = await timeCmd(cmd, args, opts);
  if (r.exitCode !== 0) throw new Error(firstLine(r.stderr) || `${cmd} exited with ${r.exitCode}`);
  return r;
}

/** Peak RSS (KiB) of a command, from GNU time's "%M" (Maximum resident set size). */
export async function peakRssKiB(cmd: string, args: readonly string[], opts: SpawnOpts = {}): Promise<{ kib: number; run: Timed }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsnerd-bench-rss-'));
  try {
    const file = join(dir, 'rss');
    const run = await timeCmd('/usr/bin/time', ['-f', '%M', '-o', file, cmd, ...args], opts);
    const kib = Number((await readFile(file, 'utf8')).trim().split('\n').pop());
    return { kib, run };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  );
}

export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
