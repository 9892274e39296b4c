/**
 * An unscripted fault check: a randomized soak that kills with -9 at random
 * moments rather than at the named fault points of faults.test.ts. Each
 * iteration starts one or two commands (`run -d -p`, `run --rm -p`, `rm -f`,
 * `network connect`/`disconnect`, `stop`, `start`) on a user-defined network
 * with DNS and on the default bridge, and after a random 0-400 ms kills one of:
 * the CLI, the hook server, the port holder, the DNS resolver, or nothing.
 * Then everything is removed (`rm -f`, `network gc`), and the host must be
 * exactly as before: links, rules and chains, IP leases, CNI cache entries,
 * ports held, hosts lines, data store entries, tsnerd's registries (port
 * reservations, DNS records, hosts members), containerd's containers, tasks,
 * snapshots and leases, and processes.
 *
 * The schedule comes from a seed, printed at the start and on failure:
 * CHAOS_SEED=<n> replays it (the timing of the machine is not replayed);
 * CHAOS_ITERATIONS=<n> changes the length (default 40).
 *
 * Names ch-*, subnet in 10.245.0.0/16, host ports 47000-47499.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { importTestImage, lines, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { diffHostState, snapshotHostState, type HostState, type HostStateScope } from '../host-state.ts';
import { addressHash } from '../../../src/domain/settings.ts';

const SEED = Number(process.env['CHAOS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const ITERATIONS = Number(process.env['CHAOS_ITERATIONS'] ?? 40);
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
const SUBNET_OCTET = 1 + Math.floor(random() * 250);
const SUBNET = `10.245.${SUBNET_OCTET}.0/24`;
const SUBNET_PREFIX = `10.245.${SUBNET_OCTET}.`;
/** A block of 100 host ports per run, one per container. */
const PORT_BASE = 47000 + 100 * Math.floor(random() * 4);
const SCOPE: HostStateScope = { networks: [NET], ports: [47000, 47499] };

type Op = 'run-d' | 'run-rm' | 'rm' | 'connect' | 'disconnect' | 'stop' | 'start';
type Target = 'cli' | 'hook-server' | 'port-holder' | 'dns' | 'none';

let env: TestEnv;
const journal: string[] = [];

const storeRoot = () => join(env.dataRoot, addressHash(env.address));
const log = (line: string) => {
  journal.push(line);
  if (process.env['CHAOS_DEBUG']) console.log(line);
};

async function pidIn(file: string): Promise<number | undefined> {
  const n = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The pid of a daemon of the env, from its pid file (the hook server's is named after the build). */
async function daemonPid(target: Exclude<Target, 'cli' | 'none'>): Promise<number | undefined> {
  if (target === 'port-holder') return pidIn(join(env.dataRoot, 'portholder', 'holder.pid'));
  if (target === 'dns') return pidIn(join(storeRoot(), 'dns', 'server.pid'));
  const dir = join(storeRoot(), 'hook-server');
  const pids = await readdir(dir).catch(() => [] as string[]);
  const file = pids.find((f) => f.endsWith('.pid'));
  return file ? pidIn(join(dir, file)) : undefined;
}

/** Whether pid is a live process whose command line names the env dir (a pid file may name a recycled pid). */
async function isEnvProcess(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.replaceAll('\0', ' ').includes(env.dir) || cmdline.includes(env.dataRoot);
}

interface Outcome {
  code: number | null;
  signal: string | null;
  stderr: string;
  ms: number;
}

/** One tsnerd command, spawned directly (the launcher execs node: its pid is the CLI's). */
function start(args: string[]): { pid: number; done: Promise<Outcome>; kill: () => void } {
  const t0 = Date.now();
  const child = spawn(TSNERD_BIN, args, { env: { ...process.env, ...env.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Outcome>((res) =>
    child.once('close', (code, signal) => res({ code, signal, stderr: stderr.trim(), ms: Date.now() - t0 })),
  );
  return { pid: child.pid!, done, kill: () => child.kill('SIGKILL') };
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
      if (l.includes(SUBNET_PREFIX) || l.includes(env.namespace)) out.push(`${tool}: ${l.replace(/^\[\d+:\d+\] /, '')}`);
  }
  const nft = await execa('nft', ['list', 'ruleset'], { reject: false });
  for (const l of String(nft.stdout).split('\n'))
    if (l.includes(SUBNET_PREFIX) || l.includes(env.namespace)) out.push(`nft: ${l.trim().replace(/ counter packets \d+ bytes \d+/, '')}`);
  // Sockets bound on an address of our subnet (the DNS resolver on the gateway).
  for (const file of ['/proc/net/tcp', '/proc/net/udp']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1] ?? '';
      const [hex, port] = local.split(':');
      if (!hex || hex.length !== 8) continue;
      const ip = [3, 2, 1, 0].map((i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)).join('.');
      if (ip.startsWith(SUBNET_PREFIX)) out.push(`socket ${file.slice(10)} ${ip}:${Number.parseInt(port ?? '', 16)}`);
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
  // Processes of the env other than containerd and its shims (the daemons linger a few seconds).
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trim();
    if (cmdline.includes(env.dir) && !/^(?:\S*\/)?containerd(?:-shim\S*)? /.test(cmdline)) out.push(`process ${cmdline}`);
  }
  return out.sort();
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
    await tsnerd(env, ['network', 'rm', NET]);
    await env.stop();
  });

  it(`${ITERATIONS} iterations of commands with kill -9 of the CLI, hook server, port holder or DNS resolver; then the host is as before`, async () => {
    const names: string[] = []; // containers that may exist
    const connected = new Set<string>(); // names on the default bridge that were connected to NET
    const onBridge = new Set<string>();
    const hung: string[] = [];
    let next = 0;
    const commandFor = (op: Op): string[] | undefined => {
      const n = next++;
      const port = PORT_BASE + (n % 100);
      const net = random() < 0.6 ? NET : 'bridge';
      switch (op) {
        case 'run-d':
          names.push(`ch${n}`);
          if (net === 'bridge') onBridge.add(`ch${n}`);
          return ['run', '-d', '--name', `ch${n}`, '--net', net, '-p', `${port}:80`, 'busybox', 'sleep', '600'];
        case 'run-rm':
          return ['run', '--rm', '--net', net, '-p', `${port}:80`, 'busybox', 'true'];
        case 'rm': {
          if (names.length === 0) return undefined;
          const name = pick(names);
          names.splice(names.indexOf(name), 1);
          return ['rm', '-f', name];
        }
        case 'connect': {
          const candidates = names.filter((c) => onBridge.has(c) && !connected.has(c));
          if (candidates.length === 0) return undefined;
          return ['network', 'connect', NET, pick(candidates)];
        }
        case 'disconnect':
          if (names.length === 0) return undefined;
          return ['network', 'disconnect', NET, connected.size > 0 && random() < 0.7 ? pick([...connected]) : pick(names)];
        case 'stop':
          if (names.length === 0) return undefined;
          return ['stop', '-t', '1', pick(names)];
        case 'start':
          if (names.length === 0) return undefined;
          return ['start', pick(names)];
      }
    };

    try {
      for (let i = 0; i < ITERATIONS; i++) {
        const count = random() < 0.25 ? 2 : 1;
        const cmds: string[][] = [];
        for (let k = 0; k < count; k++) {
          const op = weighted<Op>({ 'run-d': 4, 'run-rm': 2, rm: 2, connect: 1, disconnect: 1, stop: 0.5, start: 0.5 });
          const args = commandFor(op) ?? commandFor('run-d')!;
          if (args[0] === 'network' && args[1] === 'connect') connected.add(args[3]!);
          if (args[0] === 'network' && args[1] === 'disconnect') connected.delete(args[3]!);
          cmds.push(args);
        }
        const target = weighted<Target>({ cli: 7, 'hook-server': 4, 'port-holder': 4, dns: 2, none: 3 });
        const delay = Math.floor(random() * 400);
        const victim = Math.floor(random() * count);
        const running = cmds.map((args) => start(args));
        await sleep(delay);
        let killed = 'nothing';
        if (target === 'cli') {
          running[victim]!.kill();
          killed = `the CLI of command ${victim}`;
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
        log(
          `#${i} kill ${killed} at ${delay} ms: ${cmds
            .map((c, k) => {
              const o = outcomes[k]!;
              const how = o.signal ?? `exit ${o.code}`;
              return `[tsnerd ${c.join(' ')} -> ${how} in ${o.ms} ms${o.code ? `: ${o.stderr.split('\n')[0]}` : ''}]`;
            })
            .join(' ')}`,
        );
      }
      assert.deepEqual(hung, [], `commands that did not end within 90 s: ${hung.join('; ')}`);

      // The host recovered: a new container publishes on the user network.
      const port = PORT_BASE + 99;
      await ok(['run', '-d', '--name', 'ch-final', '--net', NET, '-p', `${port}:80`, 'busybox', 'sleep', '600']);

      // Everything removed, then gc: the host is as before.
      const ids = lines(await ok(['ps', '-aq']));
      if (ids.length > 0) {
        const r = await tsnerd(env, ['rm', '-f', ...ids]);
        log(`rm -f of ${ids.length} containers: exit ${r.exitCode} ${r.stderr.trim()}`);
      }
      assert.deepEqual(lines(await ok(['ps', '-a', '--format', '{{.Names}}'])), [], 'no container left after rm -f');
      const gc = await tsnerd(env, ['network', 'gc']);
      log(`network gc: exit ${gc.exitCode}\n  ${gc.stdout.trim().split('\n').join('\n  ')}${gc.stderr.trim()}`);
      const differences = await waitForState(baseline, 15_000);
      assert.deepEqual(differences, [], `host state differs from the baseline:\n${differences.join('\n')}`);
    } catch (e) {
      console.log(`chaos failed: CHAOS_SEED=${SEED} CHAOS_ITERATIONS=${ITERATIONS} replays this schedule\n${journal.join('\n')}`);
      throw e;
    }
    if (process.env['CHAOS_DEBUG']) console.log(journal.join('\n'));
  });
});
