/**
 * The OCI hook process: `tsnerd internal oci-hook <createRuntime|postStop> [global flags]`.
 * runc starts it with the container's state on stdin, or the hook client
 * (src/hook-server/hook-client.pl) does when no hook server answers; it then
 * starts one for the next hooks. It loads neither oclif nor gRPC: it runs on
 * every container start and stop that the hook server does not serve.
 */
import { readSync } from 'node:fs';
import { runHook } from './run-hook.ts';
import { HOOK_SERVER_START_ENV, launchHookServer } from '../adapters/host/hook-server-process.ts';

export async function runHookMain(args: string[]): Promise<number> {
  // The hook client found no server behind this socket: one is started for the next hooks,
  // detached; this hook does its work itself meanwhile.
  const socket = process.env[HOOK_SERVER_START_ENV];
  if (socket) launchHookServer(socket, process.env);
  const outcome = await runHook({ args, env: process.env, readStdin, elapsedMs: () => process.uptime() * 1000 });
  // process.uptime, not performance.now: the latter loads perf_hooks (~1 ms of each hook's start-up).
  if (outcome.stderr) process.stderr.write(outcome.stderr);
  return outcome.code;
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
