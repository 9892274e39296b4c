/**
 * Starts and stops a container's port-reserver process (src/reserver/main.ts):
 * a detached node child that holds the published host ports while the container
 * runs. Files in the container's state dir: port-reserver.pid (written by the
 * child once every port is bound) and port-reserver.log (its stderr). The child
 * never inherits the caller's stdio, so a runc hook is not kept waiting on it.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TsnerdError, internal } from '../../domain/errors.ts';
import { canonicalIP } from '../../domain/publish/host-ip.ts';
import { portAllocatedError } from '../../domain/publish/port-conflicts.ts';
import type { PortMapping } from '../../domain/publish/port-mapping.ts';
import { fromNerdctlPortMapping } from '../../domain/publish/stored-port-mapping.ts';
import type { NerdctlPortMapping } from '../../domain/publish/stored-port-mapping.ts';
import type { HostBinding } from '../../domain/publish/port-mapping.ts';
import type { HeldReservation, PortReserver } from '../../interfaces/port-reserver.ts';

export const PORT_RESERVER_PID_FILE = 'port-reserver.pid';
export const PORT_RESERVER_LOG_FILE = 'port-reserver.log';
const READY_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 2_000;
const SCRIPT_PATTERN = /[/\\]reserver[/\\]main\.[jt]s$/;

// The script sits next to this module's tree, compiled (.js, dist/) or not (.ts, tests).
const SCRIPT = fileURLToPath(new URL(`../../reserver/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

type Binding = HostBinding;

interface ReadyMessage {
  ok: boolean;
  code?: string;
  message?: string;
  binding?: Binding;
}

/**
 * Binds every mapping's hostIP:hostPort in a new reserver, replacing one already
 * running for stateDir. Resolves once all ports are held; a port in use fails with
 * `bind for IP:PORT failed: port is already allocated` and leaves nothing running.
 */
export async function startPortReserver(mappings: readonly PortMapping[], stateDir: string): Promise<void> {
  await stopPortReserver(stateDir);
  const bindings = uniqueBindings(mappings);
  if (bindings.length === 0) return;
  const dir = resolve(stateDir);
  await mkdir(dir, { recursive: true });
  const pidFile = join(dir, PORT_RESERVER_PID_FILE);
  const log = await open(join(dir, PORT_RESERVER_LOG_FILE), 'a');
  let child;
  try {
    child = spawn(process.execPath, [SCRIPT, pidFile, JSON.stringify(bindings)], {
      detached: true,
      cwd: '/',
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      stdio: ['ignore', log.fd, log.fd, 'pipe'],
    });
  } finally {
    await log.close();
  }
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  const exit = new Promise((done) => child.once('close', done));
  const ready = await readReady(child.stdio[3] as Readable, () => child.kill('SIGKILL'));
  if (ready.ok) {
    child.unref();
    return;
  }
  // Let a failed reserver exit, so its partial binds are gone when the caller reacts.
  await exit;
  if (spawnError) throw internal(`failed to start the port reserver: ${spawnError.message}`, { cause: spawnError });
  const b = ready.binding;
  if (ready.code === 'EADDRINUSE' && b) throw portAllocatedError(b.hostIP, b.hostPort);
  throw internal(`failed to reserve host ports: ${ready.message ?? 'port reserver exited without a reason'}`, {
    details: { code: ready.code, binding: b },
  });
}

/** Kills the reserver of stateDir, if one runs. Idempotent; never signals a pid that is not that reserver. */
export async function stopPortReserver(stateDir: string): Promise<void> {
  const pidFile = join(resolve(stateDir), PORT_RESERVER_PID_FILE);
  const proc = await reserverProcess(pidFile);
  if (proc) {
    signal(proc.pid, 'SIGTERM');
    if (!(await exited(proc))) {
      signal(proc.pid, 'SIGKILL');
      if (!(await exited(proc))) throw internal(`port reserver ${proc.pid} did not exit`);
    }
  }
  await rm(pidFile, { force: true });
}

/** The pid of stateDir's running reserver, or undefined. */
export async function portReserverPid(stateDir: string): Promise<number | undefined> {
  return (await reserverProcess(join(resolve(stateDir), PORT_RESERVER_PID_FILE)))?.pid;
}

/** The PortReserver port over nerdctl's stored mapping form. */
export class ProcessPortReserver implements PortReserver {
  start(mappings: readonly NerdctlPortMapping[], stateDir: string): Promise<void> {
    return startPortReserver(mappings.map(fromNerdctlPortMapping), stateDir);
  }

  stop(stateDir: string): Promise<void> {
    return stopPortReserver(stateDir);
  }

  reconcile(root: string, keep: ReadonlySet<string>, options: { dryRun: boolean }): Promise<HeldReservation[]> {
    return reconcilePortReservers(root, keep, options);
  }
}

/**
 * Finds reservers by their command line (script, pid file, bindings), not by
 * pid file: a deleted state dir or a garbage pid file must not hide one.
 */
export async function reconcilePortReservers(root: string, keep: ReadonlySet<string>, options: { dryRun: boolean }): Promise<HeldReservation[]> {
  const base = resolve(root) + sep;
  const released: HeldReservation[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const pidFile = argv[2] ?? '';
    if (!SCRIPT_PATTERN.test(argv[1] ?? '') || !pidFile.startsWith(base)) continue;
    const stateDir = dirname(pidFile);
    if (keep.has(stateDir)) continue;
    const stat = await processStat(pid);
    if (!stat?.alive) continue;
    released.push({ stateDir, ports: describeBindings(argv[3] ?? '') });
    if (options.dryRun) continue;
    const proc = { pid, startTime: stat.startTime };
    signal(pid, 'SIGTERM');
    if (!(await exited(proc))) {
      signal(pid, 'SIGKILL');
      await exited(proc);
    }
    await rm(pidFile, { force: true });
  }
  return released;
}

function describeBindings(json: string): string[] {
  try {
    return (JSON.parse(json) as Binding[]).map((b) => `${b.protocol} ${b.hostIP.includes(':') ? `[${b.hostIP}]` : b.hostIP}:${b.hostPort}`);
  } catch {
    return [];
  }
}

function uniqueBindings(mappings: readonly PortMapping[]): Binding[] {
  const byKey = new Map<string, Binding>();
  for (const m of mappings) {
    const key = `${m.protocol}/${canonicalIP(m.hostIP) ?? m.hostIP}/${m.hostPort}`;
    if (!byKey.has(key)) byKey.set(key, { protocol: m.protocol, hostIP: m.hostIP, hostPort: m.hostPort });
  }
  return [...byKey.values()];
}

function readReady(pipe: Readable, kill: () => void): Promise<ReadyMessage> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      kill();
      reject(new TsnerdError('timeout', `port reserver did not become ready within ${READY_TIMEOUT_MS / 1000}s`));
    }, READY_TIMEOUT_MS);
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => (text += chunk));
    pipe.on('error', () => undefined);
    pipe.on('close', () => {
      clearTimeout(timer);
      try {
        resolvePromise(JSON.parse(text.split('\n')[0] ?? '') as ReadyMessage);
      } catch {
        resolvePromise({ ok: false, message: 'port reserver exited before binding its ports' });
      }
    });
  });
}

/** A process, identified by pid and start time so that a recycled pid is told apart. */
interface ProcessId {
  pid: number;
  startTime: string;
}

/** The process in pidFile if /proc shows it is the live reserver started with that pid file. */
async function reserverProcess(pidFile: string): Promise<ProcessId | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const stat = await processStat(pid);
  if (!stat || !stat.alive) return undefined;
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const matches = SCRIPT_PATTERN.test(argv[1] ?? '') && argv[2] === pidFile;
    return matches ? { pid, startTime: stat.startTime } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * From /proc/<pid>/stat and status; undefined once the pid is gone. A zombie
 * leader still shares its sockets with threads that are exiting, so the process
 * counts as alive until it is a zombie with no other threads left.
 */
async function processStat(pid: number): Promise<{ alive: boolean; startTime: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is the 1st, starttime the 20th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = fields[19] ?? '';
    if (!['Z', 'X', 'x'].includes(fields[0] ?? '')) return { alive: true, startTime };
    const threads = /^Threads:\s*(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { alive: threads !== '1', startTime };
  } catch {
    return undefined;
  }
}

/** Waits until the process has released its sockets. */
async function exited(proc: ProcessId): Promise<boolean> {
  for (let waited = 0; waited < EXIT_TIMEOUT_MS; waited += 20) {
    const stat = await processStat(proc.pid);
    if (!stat || !stat.alive || stat.startTime !== proc.startTime) return true;
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
