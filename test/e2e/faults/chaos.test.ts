/**
 * An unscripted fault check: a randomized soak that kills with -9 at random
 * moments rather than at the named fault points of faults.test.ts. Each
 * iteration starts one or two commands on a user-defined network with DNS, a
 * second one, or the default bridge: `run -d -p` (a port, a pool of host ports,
 * an automatic host port, a range; sometimes `--ip` from a pool of four, or
 * `--network-alias`), `run -d` of a container that exits on its own (its network
 * released by the port holder's watcher), `run -d --rm` of one (its reaper),
 * `run -d --net container:<peer>`, `create` (started later by `start`), `run --rm`
 * attached (its output checked when it succeeds), `rm -f` and `rm`, `kill`
 * (KILL, or TERM that the container's init ignores), `network connect [--alias]`/
 * `disconnect`, `stop`, `start`, `network create`/`rm` of the second network
 * and `network prune` (the first network made again after it); and after a
 * random 0-400 ms kills one of:
 * the CLI, the CLI server, the hook server, the port holder, the DNS resolver, or nothing; or,
 * the first seen from then on, an OCI hook process, a CNI plugin working for
 * one of the env's containers, a perl lock helper, or the reaper of a `run -d --rm`; or kills containerd (at
 * that moment, or once a hook is in flight) and starts it again. Names and ports come from small pools, so later commands
 * meet what a killed one left.
 * Every 10 iterations and at the end, the running containers must be attached to every
 * network their endpoints.json names, and every veth on the user networks' bridges must be
 * a host end some CNI cache entry names (what holds for 2 s: a command served on after its
 * client was killed may be between steps): a container running on without its network, or
 * a veth no container owns, goes unseen by the end's comparison.
 * Then everything is removed (`rm -f`, `network gc`), and the host must be
 * exactly as before: links, rules and chains, IP leases, CNI cache entries,
 * ports held, hosts lines, data store entries, tsnerd's registries (port
 * reservations, DNS records, hosts members), containerd's containers, tasks,
 * snapshots and leases, runc's containers that still have a process, and
 * processes.
 *
 * The schedule comes from a seed, printed at the start and on failure:
 * CHAOS_SEED=<n> replays it (the timing of the machine is not replayed);
 * CHAOS_ITERATIONS=<n> changes the length (default 40), CHAOS_MAX_DELAY_MS the
 * latest kill (default 400), CHAOS_PARALLEL the most commands at once (default 2),
 * CHAOS_LOCAL_SHARE the share of commands run by a CLI process rather than the CLI server
 * (default 0.4; "the CLI" killed is then the node process, else the server's perl client),
 * CHAOS_HOOK_SERVER=0 turns the hook server off (node hook processes), CHAOS_CONTAINERD=0
 * the kills of containerd (CHAOS_CONTAINERD_WEIGHT: their weight, 0.5 for each of the two
 * kinds, against 25 for the rest), CHAOS_DIAG=1 keeps the containers' hook logs (and
 * containerd's log on failure) for what rm -f left for gc.
 *
 * Names ch-*, subnet in 10.245.0.0/16, host ports 47000-47499.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { importTestImage, lines, linkExists, restartContainerd, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { diffHostState, snapshotHostState, type HostState, type HostStateScope } from '../host-state.ts';
import { addressHash } from '../../../src/domain/settings.ts';

const SEED = Number(process.env['CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const ITERATIONS = Number(process.env['CHAOS_ITERATIONS'] ?? 40);
/** The kill comes after 0 to this many ms. */
const MAX_DELAY_MS = Number(process.env['CHAOS_MAX_DELAY_MS'] ?? 400);
/** Up to this many commands at once per iteration. */
const PARALLEL = Number(process.env['CHAOS_PARALLEL'] ?? 2);
/** Kills of containerd (off with CHAOS_CONTAINERD=0), each kind this weight (CHAOS_CONTAINERD_WEIGHT). */
const CONTAINERD_WEIGHT = process.env['CHAOS_CONTAINERD'] === '0' ? 0 : Number(process.env['CHAOS_CONTAINERD_WEIGHT'] ?? 0.5);
/** The share of commands run by a CLI process rather than the CLI server (CHAOS_LOCAL_SHARE). */
const LOCAL_SHARE = Number(process.env['CHAOS_LOCAL_SHARE'] ?? 0.4);
const TSNERD_BIN = resolve(fileURLToPath(import.meta.url), '../../../../bin/tsnerd');

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
function weighted<T extends string>(table: Record<T, number>): T {
  const entries = Object.entries(table) as [T, number][];
  let r = random() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of entries) if ((r -= w) < 0) return k;
  return entries[0]![0];
}

const NET = 'ch-net';
const SUBNET_OCTET = 1 + 2 * Math.floor(random() * 120);
const SUBNET = `10.245.${SUBNET_OCTET}.0/24`;
const SUBNET_PREFIX = `10.245.${SUBNET_OCTET}.`;
/** A second user network, created and removed by the commands. */
const NET2 = 'ch-net2';
const SUBNET2_PREFIX = `10.245.${SUBNET_OCTET + 1}.`;
const SUBNET2 = `${SUBNET2_PREFIX}0/24`;
/** The containers' names are ch0 .. ch<NAME_POOL - 1>, their host ports PORT_BASE + 0 .. NAME_POOL - 1. */
const NAME_POOL = 8;
const PORT_BASE = 47000 + 100 * Math.floor(random() * 4);
const SCOPE: HostStateScope = { networks: [NET, NET2], ports: [47000, 47499] };

type Op =
  | 'run-d'
  | 'run-rm'
  | 'run-exit'
  | 'run-d-rm'
  | 'run-join'
  | 'create'
  | 'rm'
  | 'kill'
  | 'connect'
  | 'disconnect'
  | 'stop'
  | 'start'
  | 'net-create'
  | 'net-rm'
  | 'net-prune';
type Target =
  | 'cli'
  | 'hook-server'
  | 'busy-hook-server'
  | 'cli-server'
  | 'port-holder'
  | 'dns'
  | 'hook'
  | 'plugin'
  | 'lock-helper'
  | 'reaper'
  | 'containerd'
  | 'busy-containerd'
  | 'none';
type Daemon = 'hook-server' | 'cli-server' | 'port-holder' | 'dns';

let env: TestEnv;
const journal: string[] = [];

const storeRoot = () => join(env.dataRoot, addressHash(env.address));
/** A user network's conflist (in the namespace's folder of the conf dir). */
const conflistOf = (name: string) => join(env.netconfPath, env.namespace, `nerdctl-${name}.conflist`);
const log = (line: string) => {
  journal.push(line);
  if (process.env['CHAOS_DEBUG']) console.log(line);
};

async function pidIn(file: string): Promise<number | undefined> {
  const n = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The pid of a daemon of the env, from its pid file (the hook server's is named after the build). */
async function daemonPid(target: Daemon): Promise<number | undefined> {
  if (target === 'port-holder') return pidIn(join(env.dataRoot, 'portholder', 'holder.pid'));
  if (target === 'dns') return pidIn(join(storeRoot(), 'dns', 'server.pid'));
  const dir = target === 'cli-server' ? join(env.dataRoot, 'cli-server') : join(storeRoot(), 'hook-server');
  const pids = await readdir(dir).catch(() => [] as string[]);
  const file = pids.find((f) => f.endsWith('.pid'));
  return file ? pidIn(join(dir, file)) : undefined;
}

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

/** Live processes (zombies left out); synchronous reads: a poll every few ms must be quick. */
async function processes(): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (cmdline === '') continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') out.push({ pid: Number(entry), ppid: Number(fields[1]), cmdline });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/**
 * Processes of the env that live for a moment only, found by polling: an OCI hook (the perl
 * client or a node hook process, `exited` included), a CNI plugin working for one of the
 * env's containers (its environment names the container), a perl lock helper of one of the
 * env's processes.
 */
async function transientPids(target: 'hook' | 'plugin' | 'lock-helper' | 'reaper'): Promise<number[]> {
  const all = await processes();
  const ofEnv = (p: Proc) => p.cmdline.includes(env.dir);
  if (target === 'hook') return all.filter((p) => ofEnv(p) && / oci-hook /.test(p.cmdline)).map((p) => p.pid);
  if (target === 'reaper') return all.filter((p) => ofEnv(p) && / internal auto-remove /.test(p.cmdline)).map((p) => p.pid);
  if (target === 'lock-helper') {
    const envPids = new Set(all.filter(ofEnv).map((p) => p.pid));
    return all.filter((p) => /^perl -e /.test(p.cmdline) && envPids.has(p.ppid)).map((p) => p.pid);
  }
  const found: number[] = [];
  for (const p of all.filter((q) => q.cmdline.startsWith('/usr/lib/cni/'))) {
    const environ = await readFile(`/proc/${p.pid}/environ`, 'utf8').catch(() => '');
    if (environ.includes(`CNI_CONTAINERID=${env.namespace}-`)) found.push(p.pid);
  }
  return found;
}

/** Whether pid is a live process whose command line names the env dir (a pid file may name a recycled pid). */
async function isEnvProcess(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.replaceAll('\0', ' ').includes(env.dir) || cmdline.includes(env.dataRoot);
}

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** One tsnerd command, spawned directly (the launcher execs node: its pid is the CLI's). */
function start(args: string[], local: boolean): { pid: number; local: boolean; done: Promise<Outcome>; kill: () => void } {
  const t0 = Date.now();
  // Served by the CLI server (killing its client leaves the command running there), or a CLI process.
  const child = spawn(TSNERD_BIN, args, {
    env: { ...process.env, ...env.env, ...(local ? { TSNERD_CLI_SERVER: '0' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Outcome>((res) =>
    child.once('close', (code, signal) => res({ code, signal, stdout: stdout.trim(), stderr: stderr.trim(), ms: Date.now() - t0 })),
  );
  return { pid: child.pid!, local, done, kill: () => child.kill('SIGKILL') };
}

/** Lines that compare the host with the baseline beyond host-state.ts, scoped to this env. */
async function extraState(): Promise<string[]> {
  const out: string[] = [];
  // The default network's host-local dir is shared with other envs: only our containers' leases.
  for (const file of await readdir('/var/lib/cni/networks/bridge').catch(() => [] as string[])) {
    const owner = (await readFile(join('/var/lib/cni/networks/bridge', file), 'utf8').catch(() => '')).split('\n')[0] ?? '';
    if (owner.startsWith(`${env.namespace}-`)) out.push(`host-local bridge/${file} ${owner}`);
  }
  // Every iptables and nft line that names our subnet or our containers.
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const saved = await execa(tool, [], { reject: false });
    for (const l of String(saved.stdout).split('\n'))
      if (l.includes(SUBNET_PREFIX) || l.includes(SUBNET2_PREFIX) || l.includes(env.namespace))
        out.push(`${tool}: ${l.replace(/^\[\d+:\d+\] /, '')}`);
  }
  const nft = await execa('nft', ['list', 'ruleset'], { reject: false });
  for (const l of String(nft.stdout).split('\n'))
    if (l.includes(SUBNET_PREFIX) || l.includes(SUBNET2_PREFIX) || l.includes(env.namespace))
      out.push(`nft: ${l.trim().replace(/ counter packets \d+ bytes \d+/, '')}`);
  // Sockets bound on an address of our subnet (the DNS resolver on the gateway).
  for (const file of ['/proc/net/tcp', '/proc/net/udp']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1] ?? '';
      const [hex, port] = local.split(':');
      if (!hex || hex.length !== 8) continue;
      const ip = [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)).join('.');
      if (ip.startsWith(SUBNET_PREFIX) || ip.startsWith(SUBNET2_PREFIX))
        out.push(`socket ${file.slice(10)} ${ip}:${Number.parseInt(port ?? '', 16)}`);
    }
  }
  // tsnerd's registries: port reservations, DNS records, the hosts members index.
  const keysOf = async (file: string, field: string, what: string) => {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.trim() === '') return;
    try {
      const doc = JSON.parse(text) as Record<string, Record<string, unknown> | undefined>;
      for (const k of Object.keys(doc[field] ?? {})) out.push(`${what} ${k}`);
    } catch {
      out.push(`${what}: unreadable ${file}`);
    }
  };
  await keysOf(join(env.dataRoot, 'portholder', 'reservations.json'), 'reservations', 'port reservation');
  await keysOf(join(storeRoot(), 'dns', 'records.json'), 'endpoints', 'dns endpoint');
  await keysOf(join(storeRoot(), 'etchosts', env.namespace, '.members.json'), 'members', 'hosts member');
  for (const entry of await readdir(env.dataRoot, { recursive: true }).catch(() => [] as string[])) {
    if (entry === 'bridges.json' || entry.endsWith('/bridges.json')) await keysOf(join(env.dataRoot, entry), 'bridges', 'bridge record');
  }
  // runc containers of the env's namespace with a process: one that containerd no longer lists (it was
  // killed while it created the task) keeps its netns and veth alive (rm -f and gc kill it and its
  // shim). runc's state of such a container once stopped is containerd's: not compared (the harness's
  // teardown deletes it).
  const runc = await execa('runc', ['--root', `/run/containerd/runc/${env.namespace}`, 'list', '--format', 'json'], { reject: false });
  if (runc.exitCode === 0)
    for (const c of (JSON.parse(String(runc.stdout) || 'null') ?? []) as { id: string; status: string }[])
      if (c.status !== 'stopped') out.push(`runc container ${c.id} ${c.status}`);
  // host-local's dir of the second network, which goes with it.
  if (await readdir(`/var/lib/cni/networks/${NET2}`).catch(() => undefined)) out.push(`host-local dir ${NET2}`);
  // Processes of the env other than containerd and its shims (the daemons linger a few seconds),
  // by command line or environment (a perl lock helper or a plugin names the env only there).
  for (const p of await processes()) {
    if (p.pid === process.pid || /^(?:\S*\/)?containerd(?:-shim\S*)? /.test(p.cmdline)) continue;
    if (p.cmdline.includes(env.dir) || (await readFile(`/proc/${p.pid}/environ`, 'utf8').catch(() => '')).includes(env.dir))
      out.push(`process ${p.cmdline.slice(0, 200)}`);
  }
  return out.sort();
}

/**
 * CHAOS_DIAG=1 (debugging): the containers' hook logs, copied every 20 ms to a dir of its own
 * before rm takes them away, with the iteration each container was first seen in; printed for
 * the containers of what rm -f left for gc.
 */
const DIAG = process.env['CHAOS_DIAG'] ? join(tmpdir(), `tsnerd-chaos-diag-${SEED}`) : undefined;
const firstSeen = new Map<string, number>();
let iteration = -1;
async function collectLogs(): Promise<void> {
  if (!DIAG) return;
  const dir = join(storeRoot(), 'containers', env.namespace);
  for (const id of await readdir(dir).catch(() => [] as string[])) {
    if (!firstSeen.has(id)) firstSeen.set(id, iteration);
    for (const f of (await readdir(join(dir, id)).catch(() => [] as string[])).filter((n) => n.endsWith('.log'))) {
      await mkdir(join(DIAG, id), { recursive: true });
      await copyFile(join(dir, id, f), join(DIAG, id, f)).catch(() => {});
    }
  }
}
async function diagnose(lines: readonly string[]): Promise<string> {
  if (!DIAG) return '';
  const out: string[] = [];
  for (const id of new Set(lines.flatMap((l) => l.match(/[0-9a-f]{64}/g) ?? []))) {
    out.push(`container ${id}: first seen in iteration #${firstSeen.get(id) ?? '?'}`);
    for (const f of await readdir(join(DIAG, id)).catch(() => [] as string[]))
      out.push(`  ${f}:\n    ${(await readFile(join(DIAG, id, f), 'utf8')).trim().split('\n').join('\n    ')}`);
  }
  return out.join('\n');
}

/**
 * What the host must agree with while containers live (the end's comparison, after `rm -f` of
 * everything, cannot see a running container without its network, nor an orphan veth that goes
 * with a joiner's netns): each running container is attached to every network its
 * `endpoints.json` names (a CNI cache entry), and each veth on the user networks' bridges is
 * the host end a cache entry of a container names.
 */
async function inconsistencies(): Promise<string[]> {
  const out: string[] = [];
  const running = lines((await tsnerd(env, ['ps', '-q'])).stdout);
  const dir = join(storeRoot(), 'containers', env.namespace);
  const cacheDir = '/var/lib/cni/results';
  const cache = (await readdir(cacheDir).catch(() => [] as string[])).filter((f) => f.includes(`-${env.namespace}-`));
  for (const id of await readdir(dir).catch(() => [] as string[])) {
    if (!running.some((r) => id.startsWith(r))) continue;
    const text = await readFile(join(dir, id, 'endpoints.json'), 'utf8').catch(() => '');
    if (text === '') continue;
    const endpoints = (JSON.parse(text) as { endpoints?: { network: string; ifname: string }[] }).endpoints ?? [];
    for (const e of endpoints)
      if (!cache.includes(`${e.network}-${env.namespace}-${id}-${e.ifname}`))
        out.push(`running ${id.slice(0, 12)}: no attachment to ${e.network} (${e.ifname})`);
  }
  const hostVeths = new Set<string>();
  for (const f of cache) {
    const entry = JSON.parse(await readFile(join(cacheDir, f), 'utf8').catch(() => '{}')) as {
      result?: { interfaces?: { name: string; sandbox?: string }[] };
    };
    for (const i of entry.result?.interfaces ?? []) if (!i.sandbox) hostVeths.add(i.name);
  }
  const bridges: string[] = [];
  for (const name of [NET, NET2]) {
    const conf = await readFile(conflistOf(name), 'utf8').catch(() => undefined);
    const bridge = conf && (JSON.parse(conf) as { plugins: { bridge?: string }[] }).plugins[0]?.bridge;
    if (bridge) bridges.push(bridge);
  }
  const links = JSON.parse(String((await execa('ip', ['-j', 'link', 'show'], { reject: false })).stdout) || '[]') as {
    ifname: string;
    master?: string;
  }[];
  for (const l of links)
    if (l.master && bridges.includes(l.master) && !hostVeths.has(l.ifname)) out.push(`veth ${l.ifname} on ${l.master}: no container's`);
  return out;
}

type State = { host: HostState; extra: string[] };
const snapshot = async (): Promise<State> => ({ host: await snapshotHostState(env, SCOPE), extra: await extraState() });

function diff(before: State, after: State): string[] {
  const a = new Set(before.extra);
  const b = new Set(after.extra);
  return [
    ...diffHostState(before.host, after.host),
    ...before.extra.filter((l) => !b.has(l)).map((l) => `extra: - ${l}`),
    ...after.extra.filter((l) => !a.has(l)).map((l) => `extra: + ${l}`),
  ];
}

async function waitForState(before: State, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = diff(before, await snapshot());
    if (d.length === 0 || Date.now() > deadline) return d;
    await sleep(250);
  }
}

const ok = async (args: string[]) => {
  const r = await tsnerd(env, args, { timeoutMs: 120_000 });
  assert.equal(r.exitCode, 0, `tsnerd ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
};

describe(`chaos: kill -9 at random moments (CHAOS_SEED=${SEED})`, { timeout: 600_000 }, () => {
  let baseline: State;

  before(async () => {
    console.log(`chaos: CHAOS_SEED=${SEED} CHAOS_ITERATIONS=${ITERATIONS} subnet ${SUBNET} ports ${PORT_BASE}+`);
    env = await startEnv('ch-chaos');
    // CHAOS_HOOK_SERVER=0: the hooks run in node hook processes of their own (the hook server off).
    if (process.env['CHAOS_HOOK_SERVER'] === '0') env.env['TSNERD_HOOK_SERVER'] = '0';
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', SUBNET]);
    // The bridges appear with the first container and stay: part of the baseline.
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']);
    await ok(['run', '--rm', 'busybox', 'true']);
    baseline = await snapshot();
    // ...once the daemons the warm-up started have gone idle.
    baseline.extra = baseline.extra.filter((l) => !l.startsWith('process ') && !l.startsWith('socket '));
  });

  after(async () => {
    if (!env) return;
    const ids = lines((await tsnerd(env, ['ps', '-aq'])).stdout);
    if (ids.length > 0) await tsnerd(env, ['rm', '-f', ...ids]);
    await tsnerd(env, ['network', 'rm', NET, NET2]);
    await env.stop();
  });

  it(`${ITERATIONS} iterations of commands with kill -9 at random moments; then the host is as before`, async () => {
    const hung: string[] = [];
    const wrongOutput: string[] = [];
    // Every 10 iterations and before the end's rm -f; what holds for 2 s (a command served on
    // after its client was killed may be between its steps; an exit is released within ~1 s).
    const wrong: string[] = [];
    const checkConsistency = async (when: string) => {
      const first = await inconsistencies();
      if (first.length === 0) return;
      await sleep(2000);
      const again = await inconsistencies();
      const lasting = first.filter((l) => again.includes(l)).map((l) => `${when}: ${l}`);
      if (lasting.length > 0) log(`inconsistent ${when}:\n  ${lasting.join('\n  ')}`);
      wrong.push(...lasting);
    };
    const net2Bridges = new Set<string>();
    // Small pools of names and ports, so that a later command meets what a killed one left. What
    // the commands issued so far would have made (not what they did: the schedule stays the
    // seed's) steers the choice: most commands name a container or network that should be there.
    const issued = new Set<string>();
    let net2Issued = false;
    const pool = Array.from({ length: NAME_POOL }, (_, k) => `ch${k}`);
    const existing = () => (issued.size > 0 && random() < 0.85 ? pick([...issued]) : pick(pool));
    const fresh = () => {
      const free = pool.filter((n) => !issued.has(n));
      return free.length > 0 && random() < 0.85 ? pick(free) : pick(pool);
    };
    const port = () => PORT_BASE + Math.floor(random() * NAME_POOL);
    const network = () => pick(net2Issued || random() < 0.1 ? [NET, NET, NET2, 'bridge'] : [NET, NET, 'bridge']);
    const userNetwork = () => (net2Issued && random() < 0.5 ? NET2 : NET);
    // How a container publishes: one port, a pool of four host ports, an automatic host port,
    // or a range of two.
    const publish = (): string[] => {
      const p = port();
      return pick([
        ['-p', `${p}:80`],
        ['-p', `${p}:80`],
        ['-p', `${p}:80`],
        ['-p', `${p}-${p + 3}:80`],
        ['-p', '80'],
        ['-p', `${p}-${p + 1}:80-81`],
      ]);
    };
    // A network, and sometimes a fixed address (on the first user network: from a pool of four,
    // so that two containers ask for one) or an alias.
    const networkFlags = (): string[] => {
      const net = network();
      const r = random();
      if (net === NET && r < 0.2) return ['--net', net, '--ip', `${SUBNET_PREFIX}${200 + Math.floor(random() * 4)}`];
      if (net !== 'bridge' && r > 0.85) return ['--net', net, '--network-alias', `alias${Math.floor(random() * 3)}`];
      return ['--net', net];
    };
    const commandFor = (op: Op): string[] => {
      switch (op) {
        case 'run-d': {
          const n = fresh();
          issued.add(n);
          return ['run', '-d', '--name', n, ...networkFlags(), ...publish(), 'busybox', 'sleep', '600'];
        }
        case 'run-rm':
          // Attached, its output checked when it succeeds.
          return random() < 0.5
            ? ['run', '--rm', ...networkFlags(), ...publish(), 'busybox', 'true']
            : ['run', '--rm', ...networkFlags(), 'busybox', 'echo', `out${Math.floor(random() * 1000)}`];
        case 'run-exit': {
          // Exits on its own while the kills go on: the port holder's watcher releases its network.
          const n = fresh();
          issued.add(n);
          return [
            'run',
            '-d',
            '--name',
            n,
            ...networkFlags(),
            ...publish(),
            'busybox',
            'sh',
            '-c',
            `sleep 0.${1 + Math.floor(random() * 5)}`,
          ];
        }
        case 'run-d-rm':
          // Removed by its reaper when it exits.
          return ['run', '-d', '--rm', ...networkFlags(), ...publish(), 'busybox', 'sh', '-c', `sleep 0.${1 + Math.floor(random() * 5)}`];
        case 'run-join': {
          // Joins a peer's network namespace (the peer may go under it).
          const peer = existing();
          const n = fresh();
          issued.add(n);
          return ['run', '-d', '--name', n, '--net', `container:${peer}`, 'busybox', 'sleep', '600'];
        }
        case 'create': {
          // Created now, started later by `start`.
          const n = fresh();
          issued.add(n);
          return ['create', '--name', n, ...networkFlags(), ...publish(), 'busybox', 'sleep', '600'];
        }
        case 'rm': {
          const n = existing();
          issued.delete(n);
          // Without -f: refused for a running container, removes a stopped or created one.
          return random() < 0.2 ? ['rm', n] : ['rm', '-f', n];
        }
        case 'kill':
          return random() < 0.8 ? ['kill', existing()] : ['kill', '-s', 'TERM', existing()];
        case 'connect':
          return random() < 0.3
            ? ['network', 'connect', '--alias', `alias${Math.floor(random() * 3)}`, userNetwork(), existing()]
            : ['network', 'connect', userNetwork(), existing()];
        case 'disconnect':
          return ['network', 'disconnect', userNetwork(), existing()];
        case 'stop':
          return ['stop', '-t', '1', existing()];
        case 'start':
          return ['start', existing()];
        case 'net-create':
          net2Issued = true;
          return ['network', 'create', NET2, '--subnet', SUBNET2];
        case 'net-rm':
          net2Issued = false;
          return ['network', 'rm', NET2];
        case 'net-prune':
          // Removes the networks no running container uses: the second one, and the first (made again after the iteration).
          net2Issued = false;
          return ['network', 'prune', '-f'];
      }
    };

    let collecting = true;
    const collector = (async () => {
      while (collecting && DIAG) {
        await collectLogs();
        await sleep(20);
      }
    })();
    try {
      for (let i = 0; i < ITERATIONS; i++) {
        iteration = i;
        const count = PARALLEL > 1 && random() < 0.3 ? 2 + Math.floor(random() * (PARALLEL - 1)) : 1;
        const cmds: string[][] = [];
        for (let k = 0; k < count; k++) {
          const op = weighted<Op>({
            'run-d': 4,
            'run-rm': 1.5,
            'run-exit': 1,
            'run-d-rm': 0.5,
            'run-join': 0.7,
            create: 0.8,
            rm: 2.5,
            kill: 0.6,
            connect: 1,
            disconnect: 1,
            stop: 0.5,
            start: 0.8,
            'net-create': 0.5,
            'net-rm': 0.5,
            'net-prune': 0.25,
          });
          cmds.push(commandFor(op));
        }
        const target = weighted<Target>({
          cli: 6,
          'hook-server': 2,
          'busy-hook-server': 3,
          'cli-server': 3,
          'port-holder': 3,
          dns: 2,
          hook: 2,
          plugin: 2,
          'lock-helper': 1,
          // The reaper of a `run -d --rm` (its container then exits unreaped: rm -f or gc removes it).
          reaper: 1,
          // containerd killed and restarted at once: a task it was creating can live on unlisted
          // (rm -f and gc kill its init; docs/architecture.md, the chaos soak).
          containerd: CONTAINERD_WEIGHT,
          // ...or while a hook is in flight (a task being created or deleted).
          'busy-containerd': CONTAINERD_WEIGHT,
          none: 2,
        });
        const delay = Math.floor(random() * MAX_DELAY_MS);
        const victim = Math.floor(random() * count);
        const running = cmds.map((args) => start(args, random() < LOCAL_SHARE));
        await sleep(delay);
        let killed = 'nothing';
        if (target === 'cli') {
          running[victim]!.kill();
          killed = `the CLI of command ${victim}`;
        } else if (
          target === 'hook' ||
          target === 'plugin' ||
          target === 'lock-helper' ||
          target === 'reaper' ||
          target === 'busy-hook-server' ||
          target === 'busy-containerd'
        ) {
          // The first one seen from the delay on, while the commands run, a little later (into its work).
          const later = Math.floor(random() * (target === 'busy-hook-server' || target === 'busy-containerd' ? 200 : 60));
          let pids: number[] = [];
          const settled = Promise.all(running.map((r) => r.done));
          let over = false;
          void settled.then(() => (over = true));
          const what = target === 'busy-hook-server' || target === 'busy-containerd' ? 'hook' : target;
          while (!over && (pids = await transientPids(what)).length === 0) await sleep(5);
          let pid = pids.length > 0 ? pick(pids) : undefined;
          killed = `${target} (none seen)`;
          if (pid !== undefined && target === 'busy-containerd') {
            await sleep(later);
            killed = `containerd ${later} ms after a hook was seen, restarted after ${await restartContainerd(env)} ms`;
          } else if (pid !== undefined) {
            await sleep(later);
            if (target === 'busy-hook-server') pid = await daemonPid('hook-server');
            const cmdline = (await processes()).find((p) => p.pid === pid)?.cmdline;
            killed = `${target} (gone after ${later} ms)`;
            if (pid !== undefined && cmdline !== undefined) {
              try {
                process.kill(pid, 'SIGKILL');
                killed = `${target} ${pid} ${later} ms after a hook was seen: ${cmdline.replace(/\s+/g, ' ').slice(0, 60)}`;
              } catch {
                /* gone */
              }
            }
          }
        } else if (target === 'containerd') {
          killed = `containerd, restarted after ${await restartContainerd(env)} ms`;
        } else if (target !== 'none') {
          const pid = await daemonPid(target);
          if (pid !== undefined && (await isEnvProcess(pid))) {
            try {
              process.kill(pid, 'SIGKILL');
              killed = `${target} ${pid}`;
            } catch {
              killed = `${target} (gone)`;
            }
          } else killed = `${target} (not running)`;
        }
        const outcomes = await Promise.all(
          running.map(async (r, k) => {
            const cancel = new AbortController();
            const deadline = sleep(90_000, 'hung' as const, { signal: cancel.signal }).catch(() => 'done' as const);
            const o = await Promise.race([r.done, deadline]);
            cancel.abort();
            if (typeof o === 'string') {
              hung.push(cmds[k]!.join(' '));
              r.kill();
              return r.done;
            }
            return o;
          }),
        );
        // An attached `run --rm ... echo X` that succeeded printed X.
        for (const [k, c] of cmds.entries()) {
          const o = outcomes[k]!;
          if (c[0] === 'run' && c.at(-2) === 'echo' && o.code === 0 && o.stdout !== c.at(-1))
            wrongOutput.push(`#${i} ${c.join(' ')}: printed ${JSON.stringify(o.stdout)}`);
        }
        const conf = await readFile(conflistOf(NET2), 'utf8').catch(() => undefined);
        const bridge = conf && (JSON.parse(conf) as { plugins: { bridge?: string }[] }).plugins[0]?.bridge;
        if (bridge) net2Bridges.add(bridge);
        log(
          `#${i} kill ${killed} at ${delay} ms: ${cmds
            .map((c, k) => {
              const o = outcomes[k]!;
              const how = o.signal ?? `exit ${o.code}`;
              // (cli): run by a CLI process; else handed to the CLI server (or run by a CLI process the client started).
              const mode = running[k]!.local ? ' (cli)' : '';
              return `[tsnerd ${c.join(' ')}${mode} -> ${how} in ${o.ms} ms${o.code ? `: ${o.stderr.split('\n')[0]}` : ''}]`;
            })
            .join(' ')}`,
        );
        if ((i + 1) % 10 === 0) await checkConsistency(`after #${i}`);
        // `network prune` removed the first network too (no running container used it): made again.
        if (!(await readFile(conflistOf(NET), 'utf8').catch(() => undefined))) {
          await ok(['network', 'create', NET, '--subnet', SUBNET]);
          log(`  ${NET} made again`);
        }
      }
      assert.deepEqual(hung, [], `commands that did not end within 90 s: ${hung.join('; ')}`);
      assert.deepEqual(wrongOutput, [], 'attached runs that succeeded printed what their container wrote');
      await checkConsistency('before rm -f');

      const removeAll = async () => {
        const ids = lines(await ok(['ps', '-aq']));
        if (ids.length > 0) {
          const r = await tsnerd(env, ['rm', '-f', ...ids]);
          log(`rm -f of ${ids.length} containers: exit ${r.exitCode} ${r.stderr.trim()}`);
        }
        assert.deepEqual(lines(await ok(['ps', '-a', '--format', '{{.Names}}'])), [], 'no container left after rm -f');
      };
      await removeAll();
      // Once the containers are removed, their names and ports serve new ones (before any gc).
      for (const [k, net] of [NET, 'bridge'].entries()) {
        await ok(['run', '-d', '--name', `ch${k}`, '--net', net, '-p', `${PORT_BASE + k}:80`, 'busybox', 'sleep', '600']);
      }
      await removeAll();
      const beforeGc = diff(baseline, await snapshot()).filter((l) => !/^extra: \+ (process|socket) /.test(l));
      collecting = false;
      await collector;
      if (beforeGc.length > 0) log(`differences left by rm -f, for network gc:\n  ${beforeGc.join('\n  ')}\n${await diagnose(beforeGc)}`);
      const net2 = await tsnerd(env, ['network', 'rm', NET2]);
      log(`network rm ${NET2}: exit ${net2.exitCode} ${net2.stderr.trim()}`);
      const gc = await tsnerd(env, ['network', 'gc']);
      log(`network gc: exit ${gc.exitCode}\n  ${gc.stdout.trim().split('\n').join('\n  ')}${gc.stderr.trim()}`);
      const differences = await waitForState(baseline, 15_000);
      for (const bridge of net2Bridges)
        if (await linkExists(bridge)) differences.push(`bridge ${bridge} of ${NET2} (removed) is still there`);
      assert.deepEqual(differences, [], `host state differs from the baseline:\n${differences.join('\n')}`);
      assert.deepEqual(wrong, [], 'running containers attached to their networks, and no veth of none before rm -f');
    } catch (e) {
      if (DIAG) await copyFile(join(env.dir, 'containerd.log'), join(DIAG, 'containerd.log')).catch(() => {});
      console.log(`chaos failed: CHAOS_SEED=${SEED} CHAOS_ITERATIONS=${ITERATIONS} replays this schedule\n${journal.join('\n')}`);
      throw e;
    } finally {
      collecting = false;
    }
    if (process.env['CHAOS_DEBUG']) console.log(journal.join('\n'));
  });
});
