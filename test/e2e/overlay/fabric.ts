/**
 * Several "hosts" on one machine for overlay tests: a core network namespace
 * (tsn-ovl-core) holding the underlay bridge tovl-br (10.217.255.1/24) and
 * etcd (client port 42379), and one namespace per host (tsn-ovl-<x>) wired to
 * the bridge by a veth pair (tovl-<x> / tovl-<x>-u, 10.217.255.1<n>/24), each
 * (names, underlay and port are FabricOptions: another test file uses its own),
 * with its own private containerd, data root and CNI conf dir (harness.ts).
 * The root namespace is not touched; nothing leaves the machine.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { importTestImage, lockName, startEnv, tsnerd, type RunResult, type TestEnv } from '../harness.ts';

export const CORE_NS = 'tsn-ovl-core';
export const CORE_IP = '10.217.255.1';
export const ETCD_PORT = 42379;
export const ETCD_URL = `http://${CORE_IP}:${ETCD_PORT}`;

/** Where a fabric lives: the defaults are overlay.test.ts's; another test file gives its own (its allocation). */
export interface FabricOptions {
  /** Namespaces `<nsPrefix>core` and `<nsPrefix><letter>`. */
  nsPrefix: string;
  /** The underlay bridge in the core namespace; the veths are `<linkPrefix><letter>` / `…-u`. */
  bridge: string;
  linkPrefix: string;
  /** The underlay's first three octets: the core at .1, host n at .10+n. */
  underlay: string;
  etcdPort: number;
}

const DEFAULTS: FabricOptions = {
  nsPrefix: 'tsn-ovl-',
  bridge: 'tovl-br',
  linkPrefix: 'tovl-',
  underlay: '10.217.255',
  etcdPort: ETCD_PORT,
};

export interface Host {
  letter: string;
  netns: string;
  ip: string;
  env: TestEnv;
}

export async function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await execa(cmd, args, {
    reject: false,
    timeout: opts.timeoutMs ?? 30_000,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
  });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? 127 };
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A command inside a namespace. */
export function inNs(netns: string, cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return sh('ip', ['netns', 'exec', netns, cmd, ...args], opts);
}

/** Kills what runs in our namespaces and deletes them (also what a crashed run left). */
async function removeNamespaces(prefix: string): Promise<void> {
  const list = await sh('ip', ['netns', 'list']);
  const names = list.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
  for (const ns of names) {
    const pids = (await sh('ip', ['netns', 'pids', ns])).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sh('ip', ['netns', 'del', ns]);
  }
}

/** `tsnerd args` on host `h` that must exit 0: its stdout, trimmed. */
export async function ok(h: Host, args: string[]): Promise<string> {
  const r = await tsnerd(h.env, args, { timeoutMs: 120_000 });
  assert.equal(r.exitCode, 0, `[${h.letter}] tsnerd ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** The address of container `name` on host `h`. */
export async function ipOf(h: Host, name: string): Promise<string> {
  const [info] = JSON.parse(await ok(h, ['inspect', name])) as { NetworkSettings: { IPAddress: string } }[];
  return info!.NetworkSettings.IPAddress;
}

/** The addresses busybox nslookup prints for `name` asked at `server` from `container` (empty when none). */
export async function lookup(h: Host, container: string, name: string, server: string, type = 'a'): Promise<string[]> {
  // busybox asks PTR for an address given without a type
  const query = type === 'ptr' ? [name, server] : [`-type=${type}`, name, server];
  const r = await tsnerd(h.env, ['exec', container, 'nslookup', ...query], { timeoutMs: 60_000 });
  const answers = r.stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  if (type === 'ptr') return [...r.stdout.matchAll(/name = (\S+)/g)].map((m) => m[1]!);
  return [...answers.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]!).sort();
}

/** fn's value once it does not throw, polled every 250 ms, with how long that took; its last error after timeoutMs. */
export async function eventually<T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<{ value: T; ms: number }> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      return { value: await fn(), ms: Date.now() - start };
    } catch (err) {
      last = err;
      await sleep(250);
    }
  }
  throw new Error(`${what}: not within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

export class Fabric {
  readonly hosts = new Map<string, Host>();
  private etcd: ChildProcess | undefined;
  private etcdDir = '';
  private readonly envPrefix: string;
  private unlock: (() => Promise<void>) | undefined;
  readonly opts: FabricOptions;
  readonly coreNs: string;
  readonly coreIp: string;
  readonly etcdUrl: string;

  constructor(envPrefix: string, opts: Partial<FabricOptions> = {}) {
    this.envPrefix = envPrefix;
    this.opts = { ...DEFAULTS, ...opts };
    this.coreNs = `${this.opts.nsPrefix}core`;
    this.coreIp = `${this.opts.underlay}.1`;
    this.etcdUrl = `http://${this.coreIp}:${this.opts.etcdPort}`;
  }

  async start(): Promise<void> {
    // One fabric of these names on the machine at a time (the e2e file, the bench, another checkout).
    this.unlock = await lockName(this.opts.nsPrefix === DEFAULTS.nsPrefix ? 'overlay-fabric' : `overlay-fabric-${this.opts.nsPrefix}`);
    await removeNamespaces(this.opts.nsPrefix);
    const bridge = this.opts.bridge;
    await must('ip', ['netns', 'add', this.coreNs]);
    await must('ip', ['-n', this.coreNs, 'link', 'set', 'lo', 'up']);
    await must('ip', ['-n', this.coreNs, 'link', 'add', bridge, 'type', 'bridge']);
    await must('ip', ['-n', this.coreNs, 'addr', 'add', `${this.coreIp}/24`, 'dev', bridge]);
    await must('ip', ['-n', this.coreNs, 'link', 'set', bridge, 'up']);
    this.etcdDir = await mkdtemp(join(tmpdir(), 'tsnerd-ovl-etcd-'));
    await this.startEtcd();
  }

  /** etcd in the core namespace; keeps its data dir across stop/start. */
  async startEtcd(): Promise<void> {
    const log = openSync(join(this.etcdDir, 'etcd.log'), 'a');
    const peerUrl = `http://${this.coreIp}:${this.opts.etcdPort + 1}`;
    try {
      this.etcd = spawn(
        'ip',
        [
          'netns',
          'exec',
          this.coreNs,
          'etcd',
          '--name',
          'tovl',
          '--data-dir',
          join(this.etcdDir, 'data'),
          '--listen-client-urls',
          this.etcdUrl,
          '--advertise-client-urls',
          this.etcdUrl,
          '--listen-peer-urls',
          peerUrl,
          '--initial-advertise-peer-urls',
          peerUrl,
          '--initial-cluster',
          `tovl=${peerUrl}`,
        ],
        { stdio: ['ignore', log, log] },
      );
    } finally {
      closeSync(log);
    }
    this.etcd.on('error', () => undefined);
    const deadline = Date.now() + 20_000;
    while ((await this.etcdctl(['endpoint', 'health'])).exitCode !== 0) {
      if (Date.now() > deadline)
        throw new Error(`etcd did not come up: ${(await readFile(join(this.etcdDir, 'etcd.log'), 'utf8')).slice(-1500)}`);
      await sleep(200);
    }
  }

  async stopEtcd(): Promise<void> {
    const child = this.etcd;
    this.etcd = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  etcdctl(args: string[]): Promise<RunResult> {
    return inNs(this.coreNs, 'etcdctl', ['--endpoints', this.etcdUrl, '--dial-timeout', '2s', ...args], { timeoutMs: 10_000 });
  }

  /** A host: its namespace wired to the bridge, its containerd running in it, the test image loaded. */
  async addHost(letter: string, index: number): Promise<Host> {
    const { netns, ip } = await this.addBareHost(letter, index);
    const env = await startEnv(`${this.envPrefix}-${letter}`, { netns });
    await importTestImage(env);
    const host = { letter, netns, ip, env };
    this.hosts.set(letter, host);
    return host;
  }

  /** Only the namespace on the underlay (address <underlay>.1<n>, link <linkPrefix><x>-u): for hosts set up by hand. */
  async addBareHost(letter: string, index: number): Promise<{ netns: string; ip: string; link: string }> {
    const netns = `${this.opts.nsPrefix}${letter}`;
    const outer = `${this.opts.linkPrefix}${letter}`;
    const inner = `${this.opts.linkPrefix}${letter}-u`;
    const ip = `${this.opts.underlay}.${10 + index}`;
    await must('ip', ['netns', 'add', netns]);
    await must('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await must('ip', ['-n', this.coreNs, 'link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', netns]);
    await must('ip', ['-n', this.coreNs, 'link', 'set', outer, 'master', this.opts.bridge, 'up']);
    await must('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', inner]);
    await must('ip', ['-n', netns, 'link', 'set', inner, 'up']);
    return { netns, ip, link: inner };
  }

  host(letter: string): Host {
    const h = this.hosts.get(letter);
    if (!h) throw new Error(`no host ${letter}`);
    return h;
  }

  /** Stops every host and etcd; rejects afterwards if a host's env reported leftovers (the harness's LeftoversError). */
  async stop(): Promise<void> {
    const failures: unknown[] = [];
    for (const h of this.hosts.values()) {
      const ids = (await tsnerd(h.env, ['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await tsnerd(h.env, ['rm', '-f', ...ids]).catch(() => undefined);
      // the networks a test left on a host (their bridges, leases and agents) go while etcd still runs
      await tsnerd(h.env, ['network', 'prune', '-f']).catch(() => undefined);
    }
    for (const h of this.hosts.values()) await h.env.stop().catch((e: unknown) => failures.push(e));
    await this.stopEtcd().catch(() => undefined);
    await removeNamespaces(this.opts.nsPrefix).catch(() => undefined);
    if (this.etcdDir) await rm(this.etcdDir, { recursive: true, force: true });
    await this.unlock?.();
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, failures.map(String).join('\n'));
  }
}
