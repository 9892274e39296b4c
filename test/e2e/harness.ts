/**
 * End-to-end test environment: a private containerd (own root, state and sockets in a
 * temp dir), a temp tsnerd data root and CNI conf dir, the busybox test image, and a
 * throwaway registry. Nothing here touches the host's containerd, /etc/cni/net.d or
 * /var/lib/tsnerd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { findCniLeftovers, networksIn } from './cni-leftovers.ts';

export interface TestEnv {
  dir: string;
  address: string;
  /** The env's name plus a random suffix: unique to this env, so are its CNI IDs `<namespace>-<id>`. */
  namespace: string;
  dataRoot: string;
  netconfPath: string;
  cniPath: string;
  env: Record<string, string>;
  /** The network namespace containerd and tsnerd run in (a "host" of a multi-host test); undefined: the caller's. */
  netns?: string;
  /**
   * Stops the env's containers and containerd and removes its dirs. Rejects with a
   * LeftoversError naming each object its tests left on the host (rules, IP allocations,
   * cache entries, bridges of its networks, processes): call it from an after/t.after hook
   * so the leak fails the file. Idempotent: a second call returns the first one's outcome.
   */
  stop(): Promise<void>;
}

export interface EnvOptions {
  /** Run containerd (hence runc, the hooks, the CNI plugins) and tsnerd inside this existing network namespace. */
  netns?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSNERD_BIN = join(REPO_ROOT, 'bin/tsnerd');
const IMAGE_SCRIPT = join(REPO_ROOT, 'scripts/build-test-image.sh');
const IMAGE_ARCHIVE = join(REPO_ROOT, 'test/.cache/busybox-oci.tar');
const BUSYBOX = '/bin/busybox';
const TEST_IMAGE_REF = 'docker.io/library/busybox:latest';
const CNI_PATH = '/usr/lib/cni';
/** runc's state root as the containerd runc v2 shim sets it by default, per namespace. */
const RUNC_ROOT = '/run/containerd/runc';
/** Env and registry dirs start with these, so a later run can find and reap a crashed run's leftovers. */
const ENV_DIR_PREFIX = 'tsnerd-e2e-';
const REGISTRY_DIR_PREFIX = 'tsnerd-registry-';
const OWNER_FILE = 'owner.pid';
const NAMESPACE_FILE = 'namespace';
/** Per env dir: the bridges of every network its conf dir had after each tsnerd command (cni-leftovers.ts). */
const bridgesSeen = new Map<string, Set<string>>();
/** Per env dir: the names of every network its conf dir had after each tsnerd command (cni-leftovers.ts: hash chains). */
const networkNamesSeen = new Map<string, Set<string>>();
/** Per env dir: the subnets of every network but the default one its conf dir had after each tsnerd command (cni-leftovers.ts: firewall rules). */
const subnetsSeen = new Map<string, Set<string>>();
/** Per env dir: the CNI IDs of the containers its data store had after each tsnerd command (removed ones too). */
const cniIdsSeen = new Map<string, Set<string>>();

/** Runs a command with a deadline; never throws (a missing binary is exit code 127). */
async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const result = await execa(cmd, args, {
    reject: false,
    env: opts.env,
    input: opts.input,
    timeout: opts.timeoutMs ?? 30_000,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
  });
  return {
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    exitCode: result.exitCode ?? (result.failed ? 127 : 0),
  };
}

/** `ctr` against the env's private containerd and namespace. */
export function ctr(env: TestEnv, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return ctrAt(env.address, env.namespace, args, opts.timeoutMs);
}

function ctrAt(address: string, namespace: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return run('ctr', ['-a', address, '-n', namespace, ...args], { timeoutMs });
}

function containerdConfig(dir: string, address: string): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    'version = 2',
    `root = ${q(join(dir, 'root'))}`,
    `state = ${q(join(dir, 'state'))}`,
    // CRI would write CNI config and listen on a TCP stream port; tests don't need it.
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '',
    '[grpc]',
    `  address = ${q(address)}`,
    '',
    '[ttrpc]',
    `  address = ${q(`${address}.ttrpc`)}`,
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(join(dir, 'opt'))}`,
    '',
  ].join('\n');
}

/**
 * One env per name on this machine at a time: the same test file run from two checkouts
 * (git worktrees) would otherwise share namespace, network and bridge names. A lock is a
 * directory holding its owner's pid; a dead owner's lock is taken over.
 */
// not under ENV_DIR_PREFIX: reapStaleEnvs would take it for a crashed env and delete it
const LOCK_DIR = join(tmpdir(), 'tsnerd-locks-e2e');

export async function lockName(name: string): Promise<() => Promise<void>> {
  await mkdir(LOCK_DIR, { recursive: true });
  const lock = join(LOCK_DIR, name.replace(/[^A-Za-z0-9_.-]/g, '-'));
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, OWNER_FILE), String(process.pid));
      return () => rm(lock, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(await readFile(join(lock, OWNER_FILE), 'utf8').catch(() => 'NaN'));
      if (Number.isInteger(owner) && !isAlive(owner)) await rm(lock, { recursive: true, force: true });
      else await sleep(500);
    }
  }
}

export async function startEnv(name: string, opts: EnvOptions = {}): Promise<TestEnv> {
  const unlock = await lockName(name);
  try {
    return await startLockedEnv(name, unlock, opts);
  } catch (e) {
    await unlock();
    throw e;
  }
}

async function startLockedEnv(name: string, unlock: () => Promise<void>, opts: EnvOptions): Promise<TestEnv> {
  await reapStaleEnvs();
  // unix socket paths must stay under 108 bytes, so the name is kept short
  const shortName = name.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 24);
  const dir = await mkdtemp(join(tmpdir(), `${ENV_DIR_PREFIX}${shortName}-`));
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
  // The namespace is this env's alone (name plus the env dir's random suffix): CNI names its
  // containers `<namespace>-<id>`, so every such ID on the host is this env's, even one whose
  // container is gone, and no other run's (another checkout running the same file included).
  const namespace = `${name}-${dir
    .slice(-6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;
  await writeFile(join(dir, NAMESPACE_FILE), namespace);
  const address = join(dir, 'containerd.sock');
  const dataRoot = join(dir, 'data');
  const netconfPath = join(dir, 'netconf');
  await Promise.all([mkdir(dataRoot), mkdir(netconfPath)]);
  const configPath = join(dir, 'containerd.toml');
  await writeFile(configPath, containerdConfig(dir, address));

  const logFd = openSync(join(dir, 'containerd.log'), 'a');
  let daemon: ChildProcess;
  try {
    const [cmd, args] = inNetns(opts.netns, 'containerd', ['--config', configPath]);
    daemon = spawn(cmd, args, { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  daemon.on('error', () => {}); // reported below as "did not come up"

  let stopping: Promise<void> | undefined;
  const env: TestEnv = {
    dir,
    address,
    namespace,
    dataRoot,
    netconfPath,
    cniPath: CNI_PATH,
    ...(opts.netns === undefined ? {} : { netns: opts.netns }),
    env: {
      CONTAINERD_ADDRESS: address,
      CONTAINERD_NAMESPACE: namespace,
      TSNERD_DATA_ROOT: dataRoot,
      NETCONFPATH: netconfPath,
      CNI_PATH,
    },
    stop: () =>
      (stopping ??= teardown(dir, address, daemon, { netns: opts.netns })
        .finally(unlock)
        .then((found) => {
          if (found.length > 0) throw new LeftoversError(name, found);
        })),
  };

  const deadline = Date.now() + 30_000;
  while (!(await isUp(address))) {
    if (daemon.exitCode !== null || daemon.signalCode !== null || Date.now() > deadline) {
      const log = await readFile(join(dir, 'containerd.log'), 'utf8').catch(() => '');
      await env.stop().catch(() => {}); // nothing ran yet that could leak
      throw new Error(`private containerd did not come up:\n${log.split('\n').slice(-20).join('\n')}`);
    }
    await sleep(100);
  }
  return env;
}

/**
 * kill -9 of the env's containerd, then the same daemon started again on its config (its
 * shims and containers live on, as after a crash); resolves with how long it was down.
 */
export async function restartContainerd(env: TestEnv): Promise<number> {
  const t0 = Date.now();
  const config = join(env.dir, 'containerd.toml');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.endsWith('containerd') && argv.includes(config)) process.kill(Number(entry), 'SIGKILL');
  }
  await sleep(100);
  await startContainerd(env);
  return Date.now() - t0;
}

/**
 * Starts the env's containerd again on its config (after a kill or a simulated reboot). The
 * teardown stops every process whose command line names the env dir: this one too.
 */
export async function startContainerd(env: TestEnv): Promise<void> {
  const logFd = openSync(join(env.dir, 'containerd.log'), 'a');
  try {
    const [cmd, args] = inNetns(env.netns, 'containerd', ['--config', join(env.dir, 'containerd.toml')]);
    spawn(cmd, args, { stdio: ['ignore', logFd, logFd], detached: true }).unref();
  } finally {
    closeSync(logFd);
  }
  const deadline = Date.now() + 30_000;
  while (!(await isUp(env.address))) {
    if (Date.now() > deadline) throw new Error('containerd did not come back');
    await sleep(50);
  }
}

async function isUp(address: string): Promise<boolean> {
  if (!existsSync(address)) return false;
  return (await run('ctr', ['-a', address, 'version'], { timeoutMs: 5_000 })).exitCode === 0;
}

/**
 * Raised by stop() when the env's tests left objects on the host: it names each one. The
 * harness removes them after reporting (so the next file starts clean), but the test file
 * fails: a leak is a bug of the test or of tsnerd, never something to sweep up silently.
 */
export class LeftoversError extends Error {
  readonly env: string;
  readonly leftovers: readonly string[];
  constructor(env: string, leftovers: readonly string[]) {
    super(`test env ${env} left ${leftovers.length} object(s) on the host (removed now):\n${leftovers.map((l) => `  - ${l}`).join('\n')}`);
    this.name = 'LeftoversError';
    this.env = env;
    this.leftovers = leftovers;
  }
}

/**
 * Best effort and bounded in time: every step swallows its own failure so the next still
 * runs. Stopping the env's own containers, shims and containerd is its normal shutdown;
 * what is then still on the host for its containers and networks is returned by name (and
 * removed). `reaping` is a crashed run's cleanup: nobody is left to blame, so nothing is returned.
 */
async function teardown(
  dir: string,
  address: string,
  daemon: ChildProcess | undefined,
  opts: { reaping?: boolean; netns?: string | undefined } = {},
): Promise<string[]> {
  const reaping = opts.reaping ?? false;
  const step = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch {
      /* keep tearing down */
    }
  };
  const found: string[] = [];
  const namespaces = new Set<string>();
  const cniIds = new Set<string>();
  await step(async () => {
    if (!(await isUp(address))) return;
    const nsList = await run('ctr', ['-a', address, 'namespaces', 'ls', '-q'], { timeoutMs: 10_000 });
    for (const ns of lines(nsList.stdout)) {
      namespaces.add(ns);
      const tasks = await ctrAt(address, ns, ['tasks', 'ls', '-q'], 10_000);
      await Promise.all(lines(tasks.stdout).map((id) => ctrAt(address, ns, ['tasks', 'rm', '-f', id], 15_000)));
      const containers = await ctrAt(address, ns, ['containers', 'ls', '-q'], 10_000);
      for (const id of lines(containers.stdout)) cniIds.add(`${ns}-${id}`);
      await Promise.all(lines(containers.stdout).map((id) => ctrAt(address, ns, ['containers', 'rm', id], 15_000)));
    }
  });
  await step(() => stopProcess(daemon));
  await step(async () => {
    // Helpers that end by themselves once their last container is gone (the DNS resolver
    // lingers a few seconds) get that long; what still runs after it is a leftover.
    const lingering = async () => (await processesMentioning(dir)).filter((p) => !ENV_MACHINERY.test(p.cmdline));
    for (let waited = 0; !reaping && waited < PROCESS_GRACE_MS && (await lingering()).length > 0; waited += 250) await sleep(250);
    const others = await processesMentioning(dir);
    if (!reaping) found.push(...others.filter((p) => !ENV_MACHINERY.test(p.cmdline)).map((p) => `process ${p.pid}: ${p.cmdline}`));
    await killProcesses(others.map((p) => p.pid));
  });
  const recorded = await readFile(join(dir, NAMESPACE_FILE), 'utf8').catch(() => undefined);
  await step(async () => {
    if (recorded) namespaces.add(recorded);
    for (const ns of namespaces) await deleteRuncContainersUnder(ns, dir);
    for (const ns of namespaces) await removeNamespaceCgroups(ns);
  });
  await step(async () => {
    for (const id of await storedContainerIds(join(dir, 'data'))) cniIds.add(id);
    for (const id of cniIdsSeen.get(dir) ?? []) cniIds.add(id);
    for (const id of await taskIdsLogged(join(dir, 'containerd.log'))) cniIds.add(id);
    const leftovers = await findCniLeftovers({
      cniIds: [...cniIds],
      ownNamespaces: recorded ? [recorded] : [],
      netconfPath: join(dir, 'netconf'),
      netns: opts.netns,
      bridgesSeen: reaping ? undefined : [...(bridgesSeen.get(dir) ?? [])],
      networkNamesSeen: reaping ? undefined : [...(networkNamesSeen.get(dir) ?? [])],
      subnetsSeen: reaping ? undefined : [...(subnetsSeen.get(dir) ?? [])],
    });
    if (!reaping) found.push(...leftovers.found);
    await leftovers.remove();
  });
  await step(() => unmountUnder(dir));
  await step(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
  return found;
}

/**
 * runc makes the namespace's cgroup parent (cgroupsPath `/<ns>/<id>`) under every controller and
 * leaves it when the last container of the namespace is gone: ~9 empty dirs per test env, 1,300
 * a controller after a day of runs; a container whose shim or containerd was killed (the fault
 * tests) can leave its own, empty, below it. Removed as the env's own, but only when empty:
 * rmdir refuses a cgroup with a process in it, and a container still running is a leftover the
 * process check above names.
 */
async function removeNamespaceCgroups(ns: string): Promise<void> {
  const root = '/sys/fs/cgroup';
  const hierarchies = [root, ...(await readdir(root).catch(() => [] as string[])).map((c) => join(root, c))];
  await Promise.all(
    hierarchies.map(async (h) => {
      const parent = join(h, ns);
      const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
      await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => rmdir(join(parent, e.name)).catch(() => undefined)));
      await rmdir(parent).catch(() => undefined);
    }),
  );
}

/** CNI container IDs (`<ns>-<id>`) of the containers in a tsnerd data root (`<hash>/containers/<ns>/<id>`). */
async function storedContainerIds(dataRoot: string): Promise<string[]> {
  const ids: string[] = [];
  for (const hash of await readdir(dataRoot).catch(() => [] as string[])) {
    const containersDir = join(dataRoot, hash, 'containers');
    for (const ns of await readdir(containersDir).catch(() => [] as string[])) {
      for (const id of await readdir(join(containersDir, ns)).catch(() => [] as string[])) ids.push(`${ns}-${id}`);
    }
  }
  return ids;
}

/**
 * The CNI IDs (`<ns>-<id>`) of every task the env's containerd started, removed ones too: the
 * shim's "starting signal loop" names its task's state path (`…/v2.task/<ns>/<id>`).
 */
async function taskIdsLogged(logFile: string): Promise<string[]> {
  const log = await readFile(logFile, 'utf8').catch(() => '');
  return [...new Set([...log.matchAll(/io\.containerd\.runtime\.v2\.task\/([^/\s"]+)\/([0-9a-f]{64})\b/g)].map((m) => `${m[1]}-${m[2]}`))];
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const gone = await Promise.race([exited.then(() => true), sleep(10_000, false, { ref: false })]);
  if (!gone) {
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(5_000, undefined, { ref: false })]);
  }
}

/** How long a process naming the env dir may outlive the env's containers before it counts as left behind. */
const PROCESS_GRACE_MS = 10_000;

/** The env's own processes, whose command lines name its dir: containerd and its shims. */
const ENV_MACHINERY = /^(?:\S*\/)?containerd(?:-shim\S*)? /;

/** Processes that carry the env dir in their command line (shims, a crashed run's containerd, port reservers). */
async function processesMentioning(dir: string): Promise<{ pid: number; cmdline: string }[]> {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trim();
    if (cmdline.includes(dir)) found.push({ pid, cmdline });
  }
  return found;
}

async function killProcesses(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (pids.length > 0) await sleep(200);
}

/** A shim killed without cleanup leaves runc state (and a live container) behind; its bundle lives under dir. */
async function deleteRuncContainersUnder(namespace: string, dir: string): Promise<void> {
  const root = join(RUNC_ROOT, namespace);
  if (!existsSync(root)) return;
  const listed = await run('runc', ['--root', root, 'list', '--format', 'json'], { timeoutMs: 10_000 });
  if (listed.exitCode !== 0) return;
  const entries = (JSON.parse(listed.stdout || 'null') ?? []) as { id: string; bundle: string }[];
  for (const c of entries.filter((e) => e.bundle.startsWith(`${dir}/`))) {
    await run('runc', ['--root', root, 'delete', '--force', c.id], { timeoutMs: 10_000 });
  }
  await rmdir(root).catch(() => {}); // only once empty: another run may share the namespace name
}

async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  // field 5 is the mount point, with spaces etc. octal-escaped
  const points = lines(mountinfo)
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await run('umount', ['-l', p], { timeoutMs: 10_000 });
}

/** Cleans up env and registry dirs whose owning test process is gone (a run that crashed or was killed). */
async function reapStaleEnvs(): Promise<void> {
  const base = tmpdir();
  for (const entry of await readdir(base).catch(() => [] as string[])) {
    if (!entry.startsWith(ENV_DIR_PREFIX) && !entry.startsWith(REGISTRY_DIR_PREFIX)) continue;
    const dir = join(base, entry);
    const owner = Number(await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => 'NaN'));
    if (Number.isInteger(owner) && isAlive(owner)) continue;
    // No owner yet: an env being made (mkdtemp, then its owner file) by a startEnv running beside
    // this one (the overlay file starts three at once); reaping it removed its containerd's content
    // under the import. A set-up that crashed in that window is reaped once it is older.
    if (
      !Number.isInteger(owner) &&
      Date.now() -
        (await stat(dir).then(
          (s) => s.mtimeMs,
          () => 0,
        )) <
        120_000
    )
      continue;
    await teardown(dir, join(dir, 'containerd.sock'), undefined, { reaping: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function tsnerd(env: TestEnv, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  // bin/tsnerd runs the compiled CLI; `npm test` builds it, a single test file run does not
  if (!existsSync(join(REPO_ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const [cmd, argv] = inNetns(env.netns, TSNERD_BIN, args);
  const result = await run(cmd, argv, {
    env: env.env,
    timeoutMs: opts.timeoutMs ?? 120_000,
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
  // The env's bridges, for the isolation rules a removed one must not leave (the default network's is everyone's).
  const seen = bridgesSeen.get(env.dir) ?? new Set<string>();
  const names = networkNamesSeen.get(env.dir) ?? new Set<string>();
  const subnets = subnetsSeen.get(env.dir) ?? new Set<string>();
  for (const n of await networksIn(env.netconfPath)) {
    names.add(n.name);
    if (!n.isDefault) for (const b of n.bridges) seen.add(b);
    if (!n.isDefault) for (const s of n.subnets) subnets.add(s);
  }
  bridgesSeen.set(env.dir, seen);
  subnetsSeen.set(env.dir, subnets);
  networkNamesSeen.set(env.dir, names);
  // Its containers' CNI IDs while they exist (a container removed since is still the env's).
  const ids = cniIdsSeen.get(env.dir) ?? new Set<string>();
  for (const id of await storedContainerIds(env.dataRoot)) ids.add(id);
  cniIdsSeen.set(env.dir, ids);
  return result;
}

/**
 * nsenter enters only the network namespace and execs the command in place (the pid
 * stays the command's). Not `ip netns exec`: it remounts /sys, which hides the cgroup
 * mount runc needs.
 */
function inNetns(netns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return netns === undefined ? [cmd, args] : ['nsenter', [`--net=/run/netns/${netns}`, '--', cmd, ...args]];
}

let archive: Promise<string> | undefined;

export function testImageArchive(): Promise<string> {
  return (archive ??= buildArchiveIfStale());
}

async function buildArchiveIfStale(): Promise<string> {
  const mtime = (p: string) => statSync(p).mtimeMs;
  if (existsSync(IMAGE_ARCHIVE) && mtime(IMAGE_ARCHIVE) >= Math.max(mtime(BUSYBOX), mtime(IMAGE_SCRIPT))) return IMAGE_ARCHIVE;
  const built = await run('bash', [IMAGE_SCRIPT, IMAGE_ARCHIVE], { timeoutMs: 120_000 });
  if (built.exitCode !== 0) {
    archive = undefined;
    throw new Error(`build-test-image.sh failed: ${built.stderr}`);
  }
  return IMAGE_ARCHIVE;
}

export async function importTestImage(env: TestEnv): Promise<string> {
  const path = await testImageArchive();
  const imported = await ctr(env, ['images', 'import', path], { timeoutMs: 120_000 });
  if (imported.exitCode !== 0) throw new Error(`ctr images import failed: ${imported.stderr}`);
  return TEST_IMAGE_REF;
}

export async function startRegistry(): Promise<{ host: string; stop(): Promise<void> }> {
  await reapStaleEnvs();
  const dir = await mkdtemp(join(tmpdir(), REGISTRY_DIR_PREFIX));
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      '',
    ].join('\n'),
  );
  const logFd = openSync(join(dir, 'registry.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  child.on('error', () => {});
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await stopProcess(child).catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    })());

  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { host, stop };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const log = await readFile(join(dir, 'registry.log'), 'utf8').catch(() => '');
      await stop();
      throw new Error(`docker-registry did not come up on ${host}:\n${log.slice(-2000)}`);
    }
    await sleep(100);
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      server.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

export * from './helpers.ts';
