/**
 * The PortReserver over the port holder (src/reserver/main.ts): one process per
 * data root, in `<data root>/portholder/`, that holds every running container's
 * published host ports and watches their init processes. A request is one
 * connection to its unix socket; when none answers, a holder is started
 * (detached, stdio to holder.log, never the caller's: a runc hook is not kept
 * waiting on it) and the request is sent again. Concurrent starters are safe:
 * the holder's flock decides which one serves, the others report BUSY.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TsnerdError, internal } from '../../domain/errors.ts';
import { canonicalIP } from '../../domain/publish/host-ip.ts';
import { portAllocatedError } from '../../domain/publish/port-conflicts.ts';
import type { HostBinding, PortMapping } from '../../domain/publish/port-mapping.ts';
import { fromNerdctlPortMapping, type NerdctlPortMapping } from '../../domain/publish/stored-port-mapping.ts';
import { settingsToArgs, type Settings } from '../../domain/settings.ts';
import type { HeldReservation, PortReservation, PortReserver, WatchedContainer } from '../../interfaces/port-reserver.ts';
import { HolderFiles, type ExitCommand, type Registry, type Reply, type Request } from '../../reserver/protocol.ts';
import { daemonScript, hookPath, runtimeArgv, spawnDaemon } from './daemon-process.ts';
import { requestEnv } from './request-env.ts';
import { hookCommand } from './hook-server-process.ts';
import { StoreLayout } from '../../domain/store-layout.ts';
import { cniContainerId } from '../../domain/cni/container-id.ts';

const START_TIMEOUT_MS = 10_000;
/** Whole request, a holder start included; binding 1,000 ports takes well under this. */
const REQUEST_TIMEOUT_MS = 30_000;

// The CLI sits next to this module's tree, compiled (.js, dist/) or not (.ts, tests).
const EXT = extname(fileURLToPath(import.meta.url));
/** The compiled CLI entry, whose `internal oci-hook exited` the holder runs when a container exits. */
const CLI_ENTRY = fileURLToPath(new URL(`../../cli${EXT === '.ts' ? '.ts' : '.js'}`, import.meta.url));
/**
 * V8 flags of the long-lived holder: a small heap is all it needs. Measured with
 * 100 bound ports: RSS 51.9 MB without flags, 49.3 MB with these (docs/performance.md).
 * --lite-mode: for compiled code only (runtimeArgv decides).
 */
const HOLDER_NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=32', '--lite-mode'];

/** Unbound socket: no holder runs (or one is exiting); a request never reached one. */
const NOT_SERVING = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'NOREPLY']);

export class ProcessPortReserver implements PortReserver {
  private readonly dir: string;
  private readonly settings: Settings | undefined;

  /** settings: to run the hook's `exited` event for a watched container; without, exits are not watched. */
  constructor(dataRoot: string, settings?: Settings) {
    this.dir = join(resolve(dataRoot), HolderFiles.dir);
    this.settings = settings;
  }

  /** The holder's directory (socket, lock, pid, log and registry). */
  get holderDir(): string {
    return this.dir;
  }

  async start(mappings: readonly NerdctlPortMapping[], stateDir: string, container?: WatchedContainer): Promise<void> {
    const bindings = uniqueBindings(mappings.map(fromNerdctlPortMapping));
    const key = resolve(stateDir);
    if (bindings.length === 0 && !container) {
      await this.stop(key);
      return;
    }
    const reservation = {
      bindings,
      ...(container ? { pid: container.pid } : {}),
      ...(container && this.settings
        ? { onExit: exitCommand(this.settings, container), id: container.id, cniId: cniContainerId(this.settings.namespace, container.id) }
        : {}),
    };
    const reply = await this.request({ op: 'reserve', key, reservation }, true);
    if (reply?.ok) return;
    const b = reply?.binding;
    if (reply?.code === 'EADDRINUSE' && b) throw portAllocatedError(b.hostIP, b.hostPort);
    throw internal(`failed to reserve host ports: ${reply?.message ?? 'the port holder did not answer'}`, {
      details: { code: reply?.code, binding: b },
    });
  }

  async stop(stateDir: string, opts: { pid?: number } = {}): Promise<boolean> {
    const key = resolve(stateDir);
    // No holder and nothing registered: nothing to do, and no holder to start for it.
    const needsHolder = (await this.registry())?.reservations?.[key] !== undefined;
    const reply = await this.request({ op: 'release', key, ...(opts.pid === undefined ? {} : { pid: opts.pid }) }, needsHolder);
    if (reply && !reply.ok) throw internal(`failed to release host ports: ${reply.message ?? reply.code ?? 'unknown error'}`);
    return reply?.released ?? false;
  }

  async holds(stateDir: string, pid: number): Promise<boolean> {
    const key = resolve(stateDir);
    return (await this.list()).some((r) => r.stateDir === key && r.pid === pid);
  }

  async reconcile(root: string, keep: ReadonlySet<string>, options: { dryRun: boolean }): Promise<HeldReservation[]> {
    const base = resolve(root) + sep;
    const kept = new Set([...keep].map((d) => resolve(d)));
    const released: HeldReservation[] = [];
    for (const r of await this.list()) {
      if (!r.stateDir.startsWith(base) || kept.has(r.stateDir)) continue;
      released.push({ stateDir: r.stateDir, ports: r.bindings.map(describeBinding) });
      if (!options.dryRun) await this.stop(r.stateDir);
    }
    return released;
  }

  async list(): Promise<PortReservation[]> {
    const stored = await this.registry();
    const needsHolder = Object.keys(stored?.reservations ?? {}).length > 0;
    const reply = await this.request({ op: 'list' }, needsHolder);
    return Object.entries(reply?.reservations ?? {}).map(([stateDir, r]) => ({
      stateDir,
      bindings: r.bindings,
      ...(r.pid === undefined ? {} : { pid: r.pid }),
      unbound: r.unbound ?? [],
      exiting: r.exiting ?? false,
    }));
  }

  /** The pid of the running holder, or undefined. */
  async holderPid(): Promise<number | undefined> {
    return (await this.request({ op: 'list' }, false))?.pid;
  }

  private async registry(): Promise<Partial<Registry> | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, HolderFiles.registry), 'utf8')) as Partial<Registry>;
    } catch {
      return undefined;
    }
  }

  /** Sends request to the holder, starting one if none serves and `start`; undefined if none serves and not `start`. */
  private async request(request: Request, start: boolean): Promise<Reply | undefined> {
    const deadline = Date.now() + REQUEST_TIMEOUT_MS;
    for (;;) {
      try {
        return await send(join(this.dir, HolderFiles.socket), request);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (!NOT_SERVING.has(code)) throw internal(`cannot reach the port holder: ${(err as Error).message}`, { cause: err });
      }
      if (!start) return undefined;
      if (Date.now() > deadline)
        throw new TsnerdError('timeout', `the port holder in ${this.dir} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`);
      const started = await this.startHolder();
      // BUSY: another holder has the lock and is starting or exiting; ask again shortly.
      if (!started.ok && started.code !== 'BUSY')
        throw internal(`failed to start the port holder: ${started.message ?? started.code ?? 'unknown error'}`);
      if (!started.ok) await sleep(20);
    }
  }

  private async startHolder(): Promise<Reply> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(requestEnv())) if (k.startsWith('TSNERD_PORTHOLDER_') && v !== undefined) env[k] = v;
    return spawnDaemon<Reply>(daemonScript('reserver'), [this.dir], {
      log: join(this.dir, HolderFiles.log),
      env,
      nodeFlags: HOLDER_NODE_FLAGS,
      readyTimeoutMs: START_TIMEOUT_MS,
      what: 'the port holder',
    });
  }
}

/** One request on a fresh connection; rejects with a NOT_SERVING code when no holder got it. */
function send(path: string, request: Request): Promise<Reply> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const line = text.split('\n')[0] ?? '';
      if (line === '') {
        reject(Object.assign(new Error('the port holder closed the connection without a reply'), { code: 'NOREPLY' }));
        return;
      }
      try {
        resolvePromise(JSON.parse(line) as Reply);
      } catch (err) {
        reject(err);
      }
    });
  });
}

/**
 * The hook's `exited` event, run as the OCI hooks are: through the hook client, so a warm
 * hook server serves it (no node process per container that exits by itself); the node
 * hook process where the server is off (TSNERD_HOOK_SERVER=0 in the hook's env), or when
 * no server answers (the client runs it then, and it starts one).
 */
function exitCommand(settings: Settings, c: WatchedContainer): ExitCommand {
  const env: Record<string, string> = { PATH: hookPath() };
  // Test only: the fault suite's kill of the exit command (fault point exited-deleted).
  for (const k of ['TSNERD_FAULT', 'TSNERD_FAULT_ONCE']) if (requestEnv()[k] !== undefined) env[k] = requestEnv()[k]!;
  const stdin = JSON.stringify({ ociVersion: '1.0.2', id: c.id, status: 'stopped', pid: c.pid, bundle: '', annotations: c.annotations });
  const [command, args] = runtimeArgv(CLI_ENTRY, ['internal', 'oci-hook', 'exited', ...settingsToArgs(settings)]);
  const argv = hookCommand(new StoreLayout(settings.dataRoot, settings.address).root, [command, ...args], requestEnv());
  // What the holder runs when the container's port forwards are gone (a firewall flush): the CLI itself, with the same settings.
  const [cli, cliArgs] = runtimeArgv(CLI_ENTRY, ['network', 'reload', ...settingsToArgs(settings)]);
  return { argv, env, stdin, reloadArgv: [cli, ...cliArgs] };
}

function describeBinding(b: HostBinding): string {
  return `${b.protocol} ${b.hostIP.includes(':') ? `[${b.hostIP}]` : b.hostIP}:${b.hostPort}`;
}

function uniqueBindings(mappings: readonly PortMapping[]): HostBinding[] {
  const byKey = new Map<string, HostBinding>();
  for (const m of mappings) {
    const key = `${m.protocol}/${canonicalIP(m.hostIP) ?? m.hostIP}/${m.hostPort}`;
    if (!byKey.has(key)) byKey.set(key, { protocol: m.protocol, hostIP: m.hostIP, hostPort: m.hostPort });
  }
  return [...byKey.values()];
}
