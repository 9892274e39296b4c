/**
 * The port holder: one process per data root that binds the published host
 * ports of every running container (nerdctl v2.1.6 "port reservation", so
 * `ss -lnt` shows them and nothing else can take them), and watches those
 * containers' init processes so that one that exits on its own gives its
 * ports and addresses back at once (Docker's behaviour; nerdctl #1259).
 *
 * Started on demand by the first client that finds no holder
 * (src/adapters/host/process-port-reserver.ts) and gone once nothing is left
 * to hold. Its registry (`reservations.json`, lowdb) is written before every
 * reply, so after a kill -9 the next client starts a new holder that binds
 * exactly the registered ports of the containers still running again. One holder per data root: it keeps an
 * exclusive flock(2) on `holder.lock` for its whole life (taken through
 * flock(1), which Node lacks), which the kernel drops when it dies.
 *
 * It also checks every TSNERD_PORTHOLDER_FORWARD_CHECK_MS (5 s; 0: never) that the port
 * forwards of the containers it holds are still in the firewall, and runs `network reload`
 * for those a flush took (forward-watch.ts).
 *
 * argv: <holder dir>. fd 3: readiness pipe, one JSON line: {"ok":true} once
 * listening, {"ok":false,"code":"BUSY"} if another holder has the lock.
 * Lean on purpose (node built-ins and lowdb): it lives as long as containers run.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Low } from 'lowdb';
import { DataFile } from '../adapters/store/lowdb-files.ts';
import { procStatSync, processExists } from '../adapters/host/proc.ts';
import { envMs, holdInstanceLock, removeOwnPidFile, reportReady as report, writePidFile } from '../adapters/host/daemon-self.ts';
import type { HostBinding } from '../domain/publish/port-mapping.ts';
import {
  HolderFiles,
  type ExitCommand,
  type ExitProgram,
  type Registry,
  type Reply,
  type Request,
  type Reservation,
  type StoredReservation,
} from './protocol.ts';
import { DEFAULT_CNI_CACHE_DIR } from '../domain/cni/cache-dir.ts';
import { toTsnerdError } from '../domain/errors.ts';
import { StateFiles } from '../domain/store-layout.ts';
import {
  cachedForwards,
  familiesOf,
  forwardsIn,
  listingCommand,
  missingForwards,
  reloadRuns,
  startFinished,
  type Family,
} from './forward-watch.ts';

const POLL_MS = envMs('TSNERD_PORTHOLDER_POLL_MS', 200);
/** After a watched pid is gone: time for a postStop already on its way (run --rm) to release it first. */
const GRACE_MS = envMs('TSNERD_PORTHOLDER_GRACE_MS', 500);
/** An exit command that fails is run again after this many ms times its attempt, up to EXIT_ATTEMPTS runs in all. */
const EXIT_RETRY_MS = envMs('TSNERD_PORTHOLDER_EXIT_RETRY_MS', 1000);
const EXIT_ATTEMPTS = 4;
/** With nothing left to hold, wait this long for the next container before exiting. */
const LINGER_MS = envMs('TSNERD_PORTHOLDER_LINGER_MS', 2000);
/**
 * How often the held containers' port forwards are looked for (0: never). 5 s, as flanneld
 * and the overlay agent re-check their rules: one `iptables -S` per address family in use,
 * whatever the number of containers, ~5 ms of CPU with the fork (0.1% of a core; docs/performance.md).
 */
const FORWARD_CHECK_MS = envMs('TSNERD_PORTHOLDER_FORWARD_CHECK_MS', 5000);
/** Forwards found gone are looked for again after this, before a reload: a stop or rm takes them before its release. */
const FORWARD_CONFIRM_MS = 1000;
/** A listing that takes longer is given up (the next check tries again). */
const LISTING_TIMEOUT_MS = 10_000;
/** A reload that takes longer is no longer waited for: the checks go on (it still runs). */
const RELOAD_WAIT_MS = 120_000;

type Held = Server | UdpSocket;

interface Entry {
  reservation: Reservation;
  /** The id of its exit command's program (argv and env), shared by the entries that have the same. */
  program?: string;
  held: Map<string, Held>;
  unbound: HostBinding[];
  /** Set once its pid was seen gone; the exit command runs once (again if it fails). */
  exiting?: boolean;
  /** Its port forwards the check has seen (`<family>/<network>`): only those count as missing when gone. */
  seen: Set<string>;
  /** Its finished start's result cache was read for its forwards (once: forward-watch.ts). */
  cacheRead?: boolean;
}

/** A held container whose forwards the check found gone, with what went. */
interface Lacking {
  key: string;
  entry: Entry;
  missing: string[];
}

/** libcni's results, where the forward check reads what a finished start made. */
const RESULTS_DIR = join(DEFAULT_CNI_CACHE_DIR, 'results');

/** A file's text; '' when it cannot be read (gone meanwhile). */
function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

function bindingKey(b: HostBinding): string {
  return `${b.protocol}/${b.hostIP}/${b.hostPort}`;
}

function bindTcp(b: HostBinding): Promise<Held> {
  return new Promise((resolve, reject) => {
    // Nothing should ever be accepted here (portmap DNATs the port); refuse politely if it is.
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    // `::` holds the IPv6 side only (as `-p [::]:P:C` forwards): the `0.0.0.0` twin holds IPv4.
    server.listen({ host: b.hostIP, port: b.hostPort, exclusive: true, ipv6Only: isIPv6(b.hostIP) }, () => resolve(server));
  });
}

function bindUdp(b: HostBinding): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIPv6(b.hostIP) ? 'udp6' : 'udp4', reuseAddr: false, ipv6Only: isIPv6(b.hostIP) });
    socket.once('error', reject);
    socket.bind({ address: b.hostIP, port: b.hostPort, exclusive: true }, () => resolve(socket));
  });
}

/** undefined for a protocol Node cannot open (SCTP: guarded by the CLI's conflict check only). */
async function bind(b: HostBinding): Promise<Held | undefined> {
  if (b.protocol === 'tcp') return bindTcp(b);
  if (b.protocol === 'udp') return bindUdp(b);
  return undefined;
}

function close(h: Held): Promise<void> {
  return new Promise((resolve) => {
    try {
      if ('listen' in h) h.close(() => resolve());
      else h.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** Field 22 of /proc/<pid>/stat, or undefined when the pid is gone or a zombie. */
function startTimeOf(pid: number): string | undefined {
  const s = procStatSync(pid);
  return s?.live ? s.startTime : undefined;
}

/** An exit program's id: the same argv and env give the same id. */
function programId(cmd: ExitCommand): string {
  return createHash('sha256')
    .update(JSON.stringify([cmd.argv, cmd.env, cmd.reloadArgv ?? null]))
    .digest('hex')
    .slice(0, 16);
}

/** A registry entry as a reservation, in either form (version 2: its program by id; version 1: the command whole). */
function storedReservation(s: StoredReservation, programs: Readonly<Record<string, ExitProgram>>): Reservation {
  const { exit, onExit, ...rest } = s;
  const program = exit === undefined ? undefined : programs[exit.program];
  if (exit !== undefined && program === undefined) log(`exit program ${exit.program} is missing from the registry`);
  const cmd = onExit ?? (exit !== undefined && program !== undefined ? { ...program, stdin: exit.stdin } : undefined);
  return { ...rest, ...(cmd ? { onExit: cmd } : {}) };
}

class Holder {
  private readonly dir: string;
  private readonly db: Low<Registry>;
  private readonly entries = new Map<string, Entry>();
  /** Each distinct exit program once, by id: entries share it (in memory and in the registry). */
  private readonly programs = new Map<string, ExitProgram>();
  private server: Server | undefined;
  private connections = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly poller: NodeJS.Timeout;
  /** A forward check (and the reloads it runs) under way: the next one waits for its end. */
  private checking = false;

  constructor(dir: string) {
    this.dir = dir;
    // One line (lowdb's JSONFile indents): rewritten whole before every reply.
    const file = new DataFile<Registry>(join(dir, HolderFiles.registry), {
      parse: (text) => JSON.parse(text) as Registry,
      stringify: (data) => JSON.stringify(data),
    });
    this.db = new Low<Registry>(file, { reservations: {} });
    this.poller = setInterval(() => this.poll(), POLL_MS);
    this.poller.unref();
    if (FORWARD_CHECK_MS > 0) setInterval(() => void this.checkForwards(), FORWARD_CHECK_MS).unref();
  }

  /**
   * Binds what the registry holds for running containers. Entries of removed
   * containers (state dir gone) and of containers whose init died while no
   * holder ran (a reboot, a kill -9 of holder and containers alike) are
   * dropped: their addresses and forwards are for `rm` and `network gc`.
   */
  async restore(): Promise<void> {
    await this.db.read();
    const stored = this.db.data.reservations ?? {};
    const programs = this.db.data.programs ?? {};
    for (const [key, s] of Object.entries(stored)) {
      const reservation = storedReservation(s, programs);
      if (!existsSync(key)) {
        log(`dropping ${key}: its state dir is gone`);
        continue;
      }
      const pid = reservation.pid;
      if (
        pid !== undefined &&
        (!processExists(pid) || (reservation.startTime !== undefined && startTimeOf(pid) !== reservation.startTime))
      ) {
        log(`dropping ${key}: its pid ${pid} died while no holder ran`);
        continue;
      }
      const entry: Entry = { ...this.interned(reservation), held: new Map(), unbound: [], seen: new Set() };
      this.entries.set(key, entry);
      for (const b of reservation.bindings) {
        try {
          const h = await bind(b);
          if (h) entry.held.set(bindingKey(b), h);
        } catch (err) {
          entry.unbound.push(b);
          log(`cannot bind ${bindingKey(b)} of ${key} again: ${(err as Error).message}`);
        }
      }
    }
    await this.persist();
    log(`holding ${this.entries.size} reservation(s)`);
  }

  listen(path: string): Promise<void> {
    rmSync(path, { force: true });
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.serve(socket));
      server.once('error', reject);
      server.listen(path, () => {
        this.server = server;
        resolve();
      });
    });
  }

  private serve(socket: Socket): void {
    this.connections++;
    this.cancelIdle();
    let text = '';
    let answered = false;
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.connections--;
      this.maybeIdle();
    });
    socket.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0 || answered) return;
      answered = true;
      let request: Request;
      try {
        request = JSON.parse(text.slice(0, nl)) as Request;
      } catch {
        socket.end(`${JSON.stringify({ ok: false, code: 'EINVAL', message: 'request is not JSON' })}\n`);
        return;
      }
      // One request at a time: binds, releases and registry writes never interleave.
      const reply = this.queue.then(() => this.handle(request));
      this.queue = reply.catch(() => undefined);
      reply.then(
        (r) => socket.end(`${JSON.stringify(r)}\n`),
        (err: unknown) =>
          socket.end(
            `${JSON.stringify({ ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EINTERNAL', message: toTsnerdError(err).message })}\n`,
          ),
      );
    });
  }

  private async handle(request: Request): Promise<Reply> {
    switch (request.op) {
      case 'reserve':
        return this.reserve(request.key, request.reservation);
      case 'release':
        return { ok: true, released: await this.release(request.key, request.pid) };
      case 'list':
        return {
          ok: true,
          pid: process.pid,
          reservations: Object.fromEntries(
            [...this.entries].map(([k, e]) => [k, { ...e.reservation, unbound: e.unbound, exiting: e.exiting ?? false }]),
          ),
        };
      default:
        return { ok: false, code: 'EINVAL', message: `unknown op ${(request as { op: string }).op}` };
    }
  }

  /** Replaces key's reservation; ports it already holds stay bound. On a failed bind nothing of key stays held. */
  private async reserve(key: string, reservation: Reservation): Promise<Reply> {
    const old = this.entries.get(key);
    const wanted = new Map(reservation.bindings.map((b) => [bindingKey(b), b]));
    const held = new Map<string, Held>();
    if (old) {
      for (const [k, h] of old.held) {
        if (wanted.has(k)) held.set(k, h);
        else await close(h);
      }
    }
    for (const [k, b] of wanted) {
      if (held.has(k)) continue;
      try {
        const h = await bind(b);
        if (h) held.set(k, h);
        else log(`${b.protocol} ${b.hostIP}:${b.hostPort} of ${key} not reserved (no ${b.protocol} sockets in node)`);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        for (const h of held.values()) await close(h);
        this.entries.delete(key);
        await this.persist();
        this.maybeIdle();
        return { ok: false, code: e.code ?? 'UNKNOWN', message: e.message, binding: b };
      }
    }
    const startTime = reservation.pid === undefined ? undefined : startTimeOf(reservation.pid);
    this.entries.set(key, {
      ...this.interned({ ...reservation, ...(startTime === undefined ? {} : { startTime }) }),
      held,
      unbound: [],
      seen: new Set(),
    });
    await this.persist();
    return { ok: true };
  }

  /** With pid, only while key is still the reservation of that pid (a restarted container has a new one). */
  private async release(key: string, pid: number | undefined): Promise<boolean> {
    const entry = this.entries.get(key);
    if (!entry || (pid !== undefined && entry.reservation.pid !== pid)) return false;
    this.entries.delete(key);
    for (const h of entry.held.values()) await close(h);
    await this.persist();
    this.maybeIdle();
    return true;
  }

  /** The reservation with its exit program shared with the entries that have the same one, and that program's id. */
  private interned(reservation: Reservation): Pick<Entry, 'reservation' | 'program'> {
    const cmd = reservation.onExit;
    if (!cmd) return { reservation };
    const program = programId(cmd);
    let shared = this.programs.get(program);
    if (!shared)
      this.programs.set(program, (shared = { argv: cmd.argv, env: cmd.env, ...(cmd.reloadArgv ? { reloadArgv: cmd.reloadArgv } : {}) }));
    return { reservation: { ...reservation, onExit: { ...shared, stdin: cmd.stdin } }, program };
  }

  /** The registry: each entry's exit program once (those of entries gone are dropped, here and in memory). */
  private async persist(): Promise<void> {
    const programs: Record<string, ExitProgram> = {};
    const reservations: Record<string, StoredReservation> = {};
    for (const [key, { reservation, program }] of this.entries) {
      const { onExit, ...rest } = reservation;
      if (!onExit || program === undefined) {
        reservations[key] = rest;
        continue;
      }
      programs[program] = this.programs.get(program)!;
      reservations[key] = { ...rest, exit: { program, stdin: onExit.stdin } };
    }
    for (const id of this.programs.keys()) if (!Object.hasOwn(programs, id)) this.programs.delete(id);
    this.db.data = { version: 2, programs, reservations };
    await this.db.write();
  }

  private poll(): void {
    if (!existsSync(this.dir)) {
      log('the holder directory is gone (data root removed): exiting');
      process.exit(0);
    }
    for (const [key, entry] of this.entries) {
      // Removed behind our back (state dir deleted): nothing is left to run or to hold for.
      if (!existsSync(key)) {
        log(`dropping ${key}: its state dir is gone`);
        void this.queue.then(() => this.release(key, entry.reservation.pid));
        continue;
      }
      const pid = entry.reservation.pid;
      if (entry.exiting || pid === undefined || processExists(pid)) continue;
      this.exited(key, entry, GRACE_MS);
    }
  }

  /** A watched container's init is gone: unless a postStop releases it within the grace time, run its exit command. */
  private exited(key: string, entry: Entry, graceMs: number, attempt = 1): void {
    entry.exiting = true;
    const pid = entry.reservation.pid;
    if (attempt === 1) log(`pid ${pid} of ${key} exited`);
    setTimeout(() => {
      if (this.entries.get(key) !== entry) return; // released meanwhile (postStop, stop, rm) or restarted
      const cmd = entry.reservation.onExit;
      if (!cmd) {
        void this.queue.then(() => this.release(key, pid));
        return;
      }
      log(`running the exit command of ${key}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
      const logFd = openSync(join(this.dir, HolderFiles.log), 'a');
      try {
        const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), { cwd: '/', env: cmd.env, stdio: ['pipe', logFd, logFd], detached: true });
        // A command that failed or was killed (kill -9 of its hook process, found by
        // test/e2e/faults/kill-points.test.ts) left the container's ports held and its address
        // taken: run again while the entry is still there (the command is idempotent, and does
        // nothing once the reservation is no longer this pid's).
        const again = (why: string) => {
          log(`exit command of ${key} ${why}`);
          if (attempt < EXIT_ATTEMPTS && this.entries.get(key) === entry) this.exited(key, entry, EXIT_RETRY_MS * attempt, attempt + 1);
        };
        child.on('error', (err) => again(`failed to start: ${err.message}`));
        child.on('close', (code, signal) => {
          if (code !== 0) again(signal ? `was killed (${signal})` : `exited with ${code}`);
        });
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(cmd.stdin);
      } finally {
        closeSync(logFd);
      }
    }, graceMs);
  }

  /**
   * The forward check: one listing of portmap's jumps per family in use; the containers whose
   * seen forwards are gone, and still gone a second later, get one `network reload` per
   * reload command (their own settings), one run at a time. Nothing runs while nothing is held
   * with ports, nor while the previous check's reloads run.
   */
  private async checkForwards(): Promise<void> {
    if (this.checking) return;
    const watched = [...this.entries].filter(
      ([, e]) =>
        !e.exiting &&
        e.reservation.id !== undefined &&
        e.reservation.cniId !== undefined &&
        e.reservation.onExit?.reloadArgv &&
        e.reservation.bindings.length > 0,
    );
    if (watched.length === 0) return;
    this.checking = true;
    try {
      this.armFromCache(watched);
      let lacking = await this.lacking(watched);
      if (lacking.length === 0) return;
      await sleep(FORWARD_CONFIRM_MS, undefined, { ref: false });
      lacking = await this.lacking(
        lacking.filter((l) => this.entries.get(l.key) === l.entry && !l.entry.exiting).map((l) => [l.key, l.entry] as [string, Entry]),
      );
      if (lacking.length === 0) return;
      for (const { key, entry, missing } of lacking) {
        for (const k of missing) entry.seen.delete(k);
        log(`port forwards of ${entry.reservation.id} (${key}) are gone (${missing.join(', ')}): reloading its network rules`);
      }
      const runs = reloadRuns(
        lacking.map(({ entry: { reservation: r } }) => ({ reloadArgv: r.onExit!.reloadArgv!, env: r.onExit!.env, id: r.id! })),
      );
      for (const { argv, env } of runs) await this.runReload(argv, env);
    } catch (err) {
      log(`forward check failed: ${(err as Error).message}`);
    } finally {
      this.checking = false;
    }
  }

  /**
   * Arms the forwards that the finished start of each entry not yet looked at made, as its
   * attachments' result cache says (forward-watch.ts): one listing of the results dir per check
   * with such an entry, and its own cache files read (a few KB each), once per entry.
   */
  private armFromCache(entries: readonly [string, Entry][]): void {
    let names: string[] | undefined;
    for (const [key, entry] of entries) {
      const r = entry.reservation;
      if (entry.cacheRead || !startFinished(readText(join(key, StateFiles.lifecycle)), r.pid, r.startTime)) continue;
      entry.cacheRead = true;
      names ??= listDir(RESULTS_DIR);
      const families = familiesOf(r.bindings);
      for (const name of names.filter((n) => n.includes(`-${r.cniId!}-`)))
        for (const k of cachedForwards(readText(join(RESULTS_DIR, name)), r.cniId!, families)) entry.seen.add(k);
    }
  }

  /** Of these entries, those with seen forwards gone from their family's listing. */
  private async lacking(entries: readonly [string, Entry][]): Promise<Lacking[]> {
    if (entries.length === 0) return [];
    const families = new Set(entries.flatMap(([, e]) => familiesOf(e.reservation.bindings)));
    const path = entries[0]![1].reservation.onExit?.env['PATH'] ?? process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin';
    const listings = new Map<Family, Map<string, Set<string>>>();
    for (const family of families) {
      const forwards = await listForwards(family, path);
      if (forwards) listings.set(family, forwards);
    }
    const out: Lacking[] = [];
    for (const [key, entry] of entries) {
      const missing = missingForwards(entry.seen, entry.reservation.cniId!, listings);
      if (missing.length > 0) out.push({ key, entry, missing });
    }
    return out;
  }

  /** Runs one `network reload` (stdout and stderr to the holder's log) and waits for its end. */
  private async runReload(argv: readonly string[], env: Record<string, string>): Promise<void> {
    log(`running ${argv.slice(argv.indexOf('network')).join(' ')}`);
    const started = Date.now();
    const logFd = openSync(join(this.dir, HolderFiles.log), 'a');
    try {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: '/', env, stdio: ['ignore', logFd, logFd], detached: true });
      const ended = new Promise<void>((resolve) => {
        child.on('error', (err) => {
          log(`network reload failed to start: ${err.message}`);
          resolve();
        });
        child.on('close', (code) => {
          log(`network reload exited with ${code} after ${Date.now() - started} ms`);
          resolve();
        });
      });
      await Promise.race([ended, sleep(RELOAD_WAIT_MS, undefined, { ref: false })]);
    } finally {
      closeSync(logFd);
    }
  }

  idleCheck(): void {
    this.maybeIdle();
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Nothing held and nobody talking: exit after the linger time. */
  private maybeIdle(): void {
    if (this.entries.size > 0 || this.connections > 0 || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.entries.size > 0 || this.connections > 0) return;
      log('nothing left to hold: exiting');
      this.server?.close();
      rmSync(join(this.dir, HolderFiles.socket), { force: true });
      removeOwnPidFile(join(this.dir, HolderFiles.pid));
      process.exit(0);
    }, LINGER_MS);
  }
}

/** portmap's jumps in one family's nat table by CNI container ID; an empty map when the chain is gone; undefined when iptables failed otherwise. */
function listForwards(family: Family, path: string): Promise<Map<string, Set<string>> | undefined> {
  const [command, args] = listingCommand(family);
  return new Promise((resolve) => {
    execFile(command, args, { env: { PATH: path }, timeout: LISTING_TIMEOUT_MS, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (!err) resolve(forwardsIn(stdout));
      // exit 1: no such chain (a flush that deleted it: every forward is gone)
      else if (err.code === 1) resolve(new Map());
      else {
        log(`${command} ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`);
        resolve(undefined);
      }
    });
  });
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) {
    report({ ok: false, code: 'EINVAL', message: 'usage: port-holder <holder dir>' });
    process.exit(2);
  }
  if (!(await holdInstanceLock(join(dir, HolderFiles.lock)))) {
    report({ ok: false, code: 'BUSY', message: 'another port holder runs for this data root' });
    process.exit(0);
  }
  const holder = new Holder(dir);
  await holder.restore();
  await holder.listen(join(dir, HolderFiles.socket));
  writePidFile(join(dir, HolderFiles.pid));
  log(`listening (pid ${process.pid})`);
  report({ ok: true, pid: process.pid });
  holder.idleCheck();
  process.on('SIGTERM', () => process.exit(0));
}

try {
  await main();
} catch (err) {
  report({ ok: false, code: (err as NodeJS.ErrnoException).code ?? 'UNKNOWN', message: (err as Error).message });
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}
