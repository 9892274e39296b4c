/**
 * Starts and stops the resolver process (src/dns-server/main.ts) of one data
 * store: a detached node child serving `<dns dir>/records.json`. Files in the
 * dns dir: server.pid (written by the child once it listens) and server.log
 * (its stderr). Callers serialise start and stop (the registry's dns.lock), so
 * at most one runs per store. The child never inherits the caller's stdio, so
 * a runc hook is not kept waiting on it.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TsnerdError, internal } from '../../domain/errors.ts';

export const DNS_PID_FILE = 'server.pid';
export const DNS_LOG_FILE = 'server.log';
const READY_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 2_000;
const SCRIPT_PATTERN = /[/\\]dns-server[/\\]main\.[jt]s$/;
/**
 * One malloc arena: V8's compiler threads otherwise leave per-thread arenas
 * behind, ~3 MB of the resolver's RSS after a query load (docs/performance.md).
 */
export const DNS_SERVER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

// The script sits next to this module's tree, compiled (.js, dist/) or not (.ts, tests).
const SCRIPT = fileURLToPath(new URL(`../../dns-server/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** The pid of the resolver serving dnsDir, if one runs. */
export async function dnsServerPid(dnsDir: string): Promise<number | undefined> {
  const dir = resolve(dnsDir);
  let text: string;
  try {
    text = await readFile(join(dir, DNS_PID_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return (await isServerOf(pid, dir)) ? pid : undefined;
}

/** Starts the resolver unless one runs; resolves once it has loaded the records and tried every gateway. */
export async function ensureDnsServer(dnsDir: string, opts: { port?: number } = {}): Promise<number> {
  const dir = resolve(dnsDir);
  const running = await dnsServerPid(dir);
  if (running !== undefined) return running;
  await mkdir(dir, { recursive: true });
  const log = await open(join(dir, DNS_LOG_FILE), 'a');
  let child;
  try {
    const args = [SCRIPT, dir, ...(opts.port === undefined ? [] : ['--port', String(opts.port)])];
    child = spawn(process.execPath, args, {
      detached: true,
      cwd: '/',
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...DNS_SERVER_ENV },
      stdio: ['ignore', log.fd, log.fd, 'pipe'],
    });
  } finally {
    await log.close();
  }
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  const ready = await readReady(child.stdio[3] as Readable, () => child.kill('SIGKILL'));
  if (ready.ok && child.pid !== undefined) {
    child.unref();
    return child.pid;
  }
  if (spawnError) throw internal(`failed to start the DNS resolver: ${spawnError.message}`, { cause: spawnError });
  throw internal(`failed to start the DNS resolver: ${ready.message ?? 'it exited without a reason'} (see ${join(dir, DNS_LOG_FILE)})`);
}

/** Stops the resolver of dnsDir, if one runs. Idempotent; never signals a pid that is not that resolver. */
export async function stopDnsServer(dnsDir: string): Promise<void> {
  const dir = resolve(dnsDir);
  const pid = await dnsServerPid(dir);
  if (pid !== undefined) {
    signal(pid, 'SIGTERM');
    if (!(await exited(pid, dir))) {
      signal(pid, 'SIGKILL');
      if (!(await exited(pid, dir))) throw internal(`DNS resolver ${pid} did not exit`);
    }
  }
  await rm(join(dir, DNS_PID_FILE), { force: true });
}

function readReady(pipe: Readable, kill: () => void): Promise<{ ok: boolean; message?: string }> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      kill();
      reject(new TsnerdError('timeout', `the DNS resolver did not become ready within ${READY_TIMEOUT_MS / 1000}s`));
    }, READY_TIMEOUT_MS);
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => (text += chunk));
    pipe.on('error', () => undefined);
    pipe.on('close', () => {
      clearTimeout(timer);
      try {
        resolvePromise(JSON.parse(text.split('\n')[0] ?? '') as { ok: boolean; message?: string });
      } catch {
        resolvePromise({ ok: false, message: 'it exited before it was ready' });
      }
    });
  });
}

/** True while pid is a live (not zombie) resolver started for dir. */
async function isServerOf(pid: number, dir: string): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '';
    if (['Z', 'X', 'x'].includes(state)) return false;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const script = argv.findIndex((a) => SCRIPT_PATTERN.test(a));
    return script > 0 && argv[script + 1] === dir;
  } catch {
    return false;
  }
}

async function exited(pid: number, dir: string): Promise<boolean> {
  for (let waited = 0; waited < EXIT_TIMEOUT_MS; waited += 20) {
    if (!(await isServerOf(pid, dir))) return true;
    await sleep(20);
  }
  return false;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
