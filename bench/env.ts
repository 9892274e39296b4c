/**
 * What the bench runs against: a private containerd (the e2e harness's), the busybox
 * test image in it and in a private podman store, and temp dirs for every CNI conf dir.
 * Nothing here touches the host's containerd, podman storage, /etc/cni/net.d or
 * /var/lib/tsnerd; ctr (which only reads /etc/cni/net.d) gets the bench's conf dir
 * bind-mounted over it in a private mount namespace.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importTestImage, startEnv, testImageArchive, type TestEnv } from '../test/e2e/harness.ts';
import { removeCniLeftovers } from '../test/e2e/cni-leftovers.ts';
import { lines, mustTime, timeCmd, type SpawnOpts, type Timed } from './proc.ts';
import { PodmanEnv } from './podman.ts';
import { removeBridgeRules } from '../src/adapters/netfilter/isolation-rules.ts';
import { bridgeConfList, chainDel, type ConfList } from './cni-chain.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const TSNERD_BIN = join(REPO_ROOT, 'bin/tsnerd');
export const IMAGE = 'docker.io/library/busybox:latest';
/** host-local's default dataDir: one folder per network name, shared by every runtime on the host. */
const HOST_LOCAL_DIR = '/var/lib/cni/networks';
/** libcni's result cache (ctr's attachments): `<network>-<container ID>-<ifname>`. */
const CNI_CACHE_DIR = '/var/lib/cni/results';
const PACKAGES = ['podman', 'netavark', 'aardvark-dns', 'containernetworking-plugins', 'containerd', 'runc'];

export class BenchEnv {
  readonly test: TestEnv;
  readonly dir: string;
  /** Conf dir ctr sees as /etc/cni/net.d (one network: ctr loads the first). */
  readonly ctrConfDir: string;
  readonly podman: PodmanEnv;
  private readonly cleanups: (() => Promise<unknown>)[] = [];
  private readonly ctrIds = new Set<string>();

  private constructor(test: TestEnv, dir: string, podman: PodmanEnv) {
    this.test = test;
    this.dir = dir;
    this.ctrConfDir = join(dir, 'ctr-netconf');
    this.podman = podman;
  }

  static async start(): Promise<BenchEnv> {
    await ensurePackages();
    const dir = await mkdtemp(join(tmpdir(), 'tsnerd-bench-'));
    const test = await startEnv('bench');
    const podman = new PodmanEnv(join(dir, 'podman'));
    const env = new BenchEnv(test, dir, podman);
    try {
      await mkdir(env.ctrConfDir);
      await importTestImage(test);
      await podman.start(await testImageArchive());
      return env;
    } catch (err) {
      await env.stop();
      throw err;
    }
  }

  /** Registers a cleanup step; stop() runs them last-in first-out, each one best effort. */
  onStop(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  tsnerd(args: readonly string[], opts: SpawnOpts = {}): Promise<Timed> {
    return timeCmd(TSNERD_BIN, args, { ...opts, env: { ...this.test.env, ...opts.env } });
  }

  ctr(args: readonly string[], opts: SpawnOpts = {}): Promise<Timed> {
    if (args[0] === 'run') this.ctrIds.add(ctrRunId(args));
    return timeCmd('ctr', ['-a', this.test.address, '-n', this.test.namespace, ...args], opts);
  }

  /** `ctr run --cni …` with the bench's conf dir as its /etc/cni/net.d (unshare and mount cost ~2 ms, included). */
  ctrCni(args: readonly string[], opts: SpawnOpts = {}): Promise<Timed> {
    this.ctrIds.add(ctrRunId(args));
    const script = 'mount --bind "$0" /etc/cni/net.d && exec ctr "$@"';
    return timeCmd(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        this.ctrConfDir,
        '-a',
        this.test.address,
        '-n',
        this.test.namespace,
        ...args,
      ],
      opts,
    );
  }

  private ctrList: Promise<ConfList> | undefined;

  /** The network `ctrCni` runs on, written once (B1 and B3 use it): ctr loads the first of its conf dir; tsnerd's bridge template. */
  ctrNetwork(): Promise<ConfList> {
    return (this.ctrList ??= (async () => {
      const list = await bridgeConfList(this.ownNetwork('tsnerd-bench-ctr'), 'tsb-ctr0', '10.210.3.0/24', '10.210.3.1');
      await writeFile(join(this.ctrConfDir, '10-bench.conflist'), JSON.stringify(list));
      this.onStop(() => this.deleteLink('tsb-ctr0'));
      return list;
    })());
  }

  /** Removes containers `ctrCni` ran detached (removeDetachedCtr). */
  async removeCtrContainers(ids: readonly string[]): Promise<void> {
    await removeDetachedCtr(this.test.address, this.test.namespace, this.ctrConfDir, await this.ctrNetwork(), ids);
    for (const id of ids) this.ctrIds.delete(id);
  }

  /** A CNI network of the bench's own (unique name): its host-local state dir goes at the end. */
  ownNetwork(name: string): string {
    this.onStop(() => rm(join(HOST_LOCAL_DIR, name), { recursive: true, force: true }));
    return name;
  }

  /** Removes a bridge the bench's own conflists made (tsnerd's are the harness's job). */
  /** Deletes a bridge the bench's own chains used, and the firewall plugin's isolation rules of it (no DEL removes them). */
  async deleteLink(name: string): Promise<void> {
    await timeCmd('ip', ['link', 'del', name]);
    await removeBridgeRules(name);
  }

  async linkExists(name: string): Promise<boolean> {
    return (await timeCmd('ip', ['link', 'show', 'dev', name])).exitCode === 0;
  }

  async stop(): Promise<void> {
    const step = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        console.error(`cleanup: ${String(e)}`);
      }
    };
    for (const fn of this.cleanups.reverse()) await step(fn);
    await step(() => this.podman.stop());
    await step(() => this.test.stop());
    // ctr's own DEL passes no netns, so bridge ipMasq rules can outlive its containers
    await step(() =>
      removeCniLeftovers(
        this.ctrConfDir,
        [...this.ctrIds].map((id) => `${this.test.namespace}-${id}`),
      ),
    );
    await step(() => rm(this.dir, { recursive: true, force: true, maxRetries: 3 }));
  }
}

/**
 * Removes containers `ctr run -d --cni` started on `list` (in conf dir `confDir`). ctr never runs
 * DEL for them, so the chain's DEL runs here in each one's netns while it lives, with the result
 * libcni cached (the bridge plugin's masquerade chain and firewall's rules need both); then tasks
 * and containers go, and whatever their attachments still left (cache entries) by their IDs.
 */
export async function removeDetachedCtr(
  address: string,
  namespace: string,
  confDir: string,
  list: ConfList,
  ids: readonly string[],
): Promise<void> {
  const ctr = (args: string[]) => timeCmd('ctr', ['-a', address, '-n', namespace, ...args]);
  const pids = new Map(
    lines((await ctr(['task', 'ls'])).stdout)
      .map((l) => l.split(/\s+/))
      .map(([id, pid]) => [id, Number(pid)] as const),
  );
  for (const id of ids) {
    const cniId = `${namespace}-${id}`;
    const pid = pids.get(id);
    const cached = await readFile(join(CNI_CACHE_DIR, `${list.name}-${cniId}-eth0`), 'utf8')
      .then((t) => (JSON.parse(t) as { result?: unknown }).result)
      .catch(() => undefined);
    if (pid && cached !== undefined)
      await chainDel(list, { containerId: cniId, netns: `/proc/${pid}/ns/net`, ifName: 'eth0', portMappings: [] }, cached).catch(
        (e: unknown) => console.error(`DEL of ctr container ${id}: ${String(e)}`),
      );
  }
  for (const id of ids) await ctr(['task', 'rm', '-f', id]);
  for (const id of ids) await ctr(['container', 'rm', id]);
  await removeCniLeftovers(
    confDir,
    ids.map((id) => `${namespace}-${id}`),
  );
}

/** The container ID of `run [flags] IMAGE ID …` (flags are all boolean here). */
function ctrRunId(args: readonly string[]): string {
  const positional = args.slice(1).filter((a) => !a.startsWith('-'));
  return positional[1] ?? '';
}

async function ensurePackages(): Promise<void> {
  const missing: string[] = [];
  for (const p of PACKAGES) {
    const r = await timeCmd('dpkg-query', ['-W', '-f', '${Status}', p]);
    if (!r.stdout.includes('install ok installed')) missing.push(p);
  }
  if (missing.length === 0) return;
  console.error(`installing ${missing.join(' ')} …`);
  await mustTime('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: 600_000,
  });
}

/** Machine facts for RESULTS.md. */
export async function machineFacts(): Promise<Record<string, string>> {
  const first = async (cmd: string, args: string[]) => lines((await timeCmd(cmd, args)).stdout)[0] ?? 'unknown';
  const pkg = async (p: string) => (await timeCmd('dpkg-query', ['-W', '-f', '${Version}', p])).stdout || 'not installed';
  const meminfo = await readFile('/proc/meminfo', 'utf8');
  const memKiB = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0);
  const cpu = /model name\s*:\s*(.*)/.exec(await readFile('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return {
    cpus: `${await first('nproc', [])} × ${cpu}`,
    memory: `${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
    kernel: await first('uname', ['-r']),
    os: /PRETTY_NAME="(.*)"/.exec(await readFile('/etc/os-release', 'utf8'))?.[1] ?? 'unknown',
    containerd: await pkg('containerd'),
    runc: await pkg('runc'),
    podman: await pkg('podman'),
    netavark: await pkg('netavark'),
    'aardvark-dns': await pkg('aardvark-dns'),
    'CNI plugins': await pkg('containernetworking-plugins'),
    iptables: await first('iptables', ['--version']),
    node: process.version,
  };
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
