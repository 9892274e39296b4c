/**
 * `npm run bench:dns` (issue 16): tsnerd's resolver against aardvark-dns (Podman's), side by
 * side in one run, serving the same 500 container records, each on its own address of one
 * bridge (both run through a round):
 * - dnsperf from inside a netns of its own (tsn-dns-bench, veth into bridge dns-bench0):
 *   queries per second at saturation (one resolver after the other, alternating which goes
 *   first), and latency percentiles at a fixed rate, both resolvers at the same time, so the
 *   machine's load in that window is the same for both (dnsperf -v reports every answer's
 *   latency; dnsperf has no percentiles of its own);
 * - CPU time (user + system) per query of each resolver and of dnsperf while saturated: on
 *   a 2-CPU machine, what a resolver leaves to dnsperf decides the rate as much as its own speed;
 * - each resolver's RSS with the 500 records loaded, before and after the load;
 * - time from `tsnerd run` returning to the first answer for the new container.
 * Writes its own section of bench/RESULTS.md (between the dns-bench markers).
 * Uses 10.216.128.0/17 and 10.216.140.0/24, bridge dns-bench0, netns tsn-dns-bench.
 * On a machine shared with other work, DNS_BENCH_NET (the first two octets, for 10.216),
 * DNS_BENCH_TAG (a prefix for the bridge, veth, netns and network names) and DNS_BENCH_ENV
 * (the test env's name, for dns-bench) move it elsewhere. DNS_BENCH_VARIANTS adds more
 * tsnerd resolvers (other flags or builds) to every round (see VARIANTS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import * as dnsPacket from 'dns-packet';

import { applyJoin, emptyRecordSet, type DnsRecordSet } from '../src/domain/dns/records.ts';
import { addressHash } from '../src/domain/settings.ts';
import { DNS_SERVER_ENV, DNS_SERVER_NODE_FLAGS } from '../src/adapters/dns/process-dns-server.ts';
import { importTestImage, startEnv, tsnerd } from '../test/e2e/harness.ts';
import { REPO_ROOT } from './env.ts';
import { mustTime, timeCmd } from './proc.ts';

const RECORDS = 500;
const NET = process.env['DNS_BENCH_NET'] ?? '10.216';
const TAG = process.env['DNS_BENCH_TAG'];
const BRIDGE = TAG ? `${TAG}-dnsb0` : 'dns-bench0';
const HOST_VETH = TAG ? `${TAG}-dnsbv0` : 'dns-bv0';
const NETNS = TAG ? `${TAG}-dns-bench` : 'tsn-dns-bench';
const ENV_NAME = process.env['DNS_BENCH_ENV'] ?? 'dns-bench';
const FIRST_NETWORK = TAG ? `${TAG}-dns-bench-n` : 'dns-bench-n';
/** tsnerd's resolver listens here, aardvark-dns on AARDVARK_GATEWAY: both addresses of the bench bridge. */
const GATEWAY = `${NET}.128.1`;
const AARDVARK_GATEWAY = `${NET}.128.3`;
const CLIENT = `${NET}.128.2`;
/** Variant i of DNS_BENCH_VARIANTS listens here. */
const variantGateway = (i: number) => `${NET}.128.${10 + i}`;
const PREFIX = 17;
const NETWORK = 'dns-bench';
const AARDVARK = '/usr/lib/podman/aardvark-dns';
/** As daemonScript picks it: the build's one-file bundle (scripts/bundle-dns-server.ts) when there is one. */
const SERVER = ['main.cjs', 'main.js'].map((f) => join(REPO_ROOT, 'dist/dns-server', f)).find((f) => existsSync(f)) ?? '';
const DURATION_S = Number(process.env['DNS_BENCH_SECONDS'] ?? 5);
/** Rounds of both resolvers, alternating which goes first: the machine's load moves between runs. */
const ROUNDS = Number(process.env['DNS_BENCH_ROUNDS'] ?? 5);
const LATENCY_QPS = Number(process.env['DNS_BENCH_LATENCY_QPS'] ?? 2000);
const RUNS = Number(process.env['DNS_BENCH_RUNS'] ?? 10);
/**
 * DNS_BENCH_VARIANTS: more tsnerd resolvers in every round beside the shipped one, for A/B
 * comparisons in one run: `name=node flags;name2=flags`, or `name@/path/to/main.js=flags` for
 * another build of the resolver. Each gets its own address on the bench bridge.
 */
interface Variant {
  name: string;
  script: string;
  flags: readonly string[];
}
const VARIANTS: Variant[] = (process.env['DNS_BENCH_VARIANTS'] ?? '')
  .split(';')
  .map((v) => v.trim())
  .filter(Boolean)
  .map((v) => {
    const eq = v.indexOf('=');
    const head = eq < 0 ? v : v.slice(0, eq);
    const [name, script] = head.split('@');
    const flags =
      eq < 0
        ? []
        : v
            .slice(eq + 1)
            .split(' ')
            .filter(Boolean);
    return { name: name!, script: script ?? SERVER, flags };
  });
const MARK_BEGIN = '<!-- dns-bench:begin -->';
const MARK_END = '<!-- dns-bench:end -->';

/** Container i: name c<i>, address in 10.216.129.0-10.216.130.255. */
const ipOf = (i: number) => `${NET}.${129 + Math.floor(i / 256)}.${i % 256}`;

interface PerfResult {
  qps: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  lost: number;
  /** CPU time (user + system, µs) the resolver spent per completed query while saturated. */
  cpuUs: number;
  /** The same for dnsperf (its sending and receiving threads): what the resolver leaves it decides the rate on 2 CPUs. */
  perfCpuUs: number;
}

const sh = async (cmd: string, args: string[]) => mustTime(cmd, args, { timeoutMs: 60_000 });

async function setupNet(): Promise<void> {
  await teardownNet();
  await sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', `${GATEWAY}/${PREFIX}`, 'dev', BRIDGE]);
  await sh('ip', ['addr', 'add', `${AARDVARK_GATEWAY}/${PREFIX}`, 'dev', BRIDGE]);
  for (let i = 0; i < VARIANTS.length; i++) await sh('ip', ['addr', 'add', `${variantGateway(i)}/${PREFIX}`, 'dev', BRIDGE]);
  await sh('ip', ['link', 'set', BRIDGE, 'up']);
  await sh('ip', ['netns', 'add', NETNS]);
  await sh('ip', ['link', 'add', HOST_VETH, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NETNS]);
  await sh('ip', ['link', 'set', HOST_VETH, 'master', BRIDGE, 'up']);
  await sh('ip', ['-n', NETNS, 'addr', 'add', `${CLIENT}/${PREFIX}`, 'dev', 'eth0']);
  await sh('ip', ['-n', NETNS, 'link', 'set', 'eth0', 'up']);
  await sh('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
}

async function teardownNet(): Promise<void> {
  await timeCmd('ip', ['netns', 'del', NETNS]);
  await timeCmd('ip', ['link', 'del', HOST_VETH]);
  await timeCmd('ip', ['link', 'del', BRIDGE]);
}

/** The 500 containers plus the dnsperf client (aardvark answers registered containers only). */
function recordSet(gateway: string): DnsRecordSet {
  let set = emptyRecordSet();
  const record = { gateways: [gateway], internal: false };
  for (let i = 0; i < RECORDS; i++) {
    set = applyJoin(set, {
      namespace: 'bench',
      id: `id${i}`,
      endpoints: [{ network: NETWORK, record, names: [`c${i}`], aliases: [], ips: [ipOf(i)] }],
    });
  }
  return applyJoin(set, {
    namespace: 'bench',
    id: 'client',
    endpoints: [{ network: NETWORK, record, names: ['client'], aliases: [], ips: [CLIENT] }],
  });
}

/** aardvark-dns 1.x: a file per network, first line the listen IPs, then `id ipv4s ipv6s names`. */
function aardvarkConfig(): string {
  const lines = [AARDVARK_GATEWAY];
  for (let i = 0; i < RECORDS; i++) lines.push(`id${i} ${ipOf(i)}  c${i}`);
  lines.push(`client ${CLIENT}  client`);
  return `${lines.join('\n')}\n`;
}

async function queryFile(dir: string): Promise<string> {
  const path = join(dir, 'queries.txt');
  await writeFile(path, Array.from({ length: RECORDS }, (_, i) => `c${i} A\n`).join(''));
  return path;
}

type Saturated = Omit<PerfResult, 'p50Ms' | 'p99Ms' | 'cpuUs' | 'perfCpuUs'> & { completed: number };

function parsePerf(out: string): Saturated {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 'NaN');
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    lost: num(/Queries lost:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
  };
}

/** utime + stime of a process (all its threads), in µs. */
async function cpuTimeUs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime), here 11 and 12 after the name; clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const perfArgs = (gateway: string, queries: string) => [
  'netns',
  'exec',
  NETNS,
  'dnsperf',
  '-s',
  gateway,
  '-d',
  queries,
  '-l',
  String(DURATION_S),
];
const PERF_TIMEOUT_MS = (DURATION_S + 30) * 1000;

/** Queries/s, average latency, losses and the resolver's CPU per query at saturation. */
async function saturate(r: Running, queries: string): Promise<Omit<PerfResult, 'p50Ms' | 'p99Ms'>> {
  const cpuBefore = await cpuTimeUs(r.pid);
  // GNU time's user and system seconds of dnsperf (ip netns exec execs it: the same process).
  const run = await mustTime('/usr/bin/time', ['-f', 'dnsperf-cpu %U %S', 'ip', ...perfArgs(r.gateway, queries), '-c', '4', '-q', '200'], {
    timeoutMs: PERF_TIMEOUT_MS,
  });
  const cpuUs = await cpuTimeUs(r.pid);
  const o = parsePerf(run.stdout);
  const perfCpu = /dnsperf-cpu ([\d.]+) ([\d.]+)/.exec(run.stderr);
  const perfCpuUs = perfCpu ? ((Number(perfCpu[1]) + Number(perfCpu[2])) * 1e6) / o.completed : NaN;
  return { qps: o.qps, avgMs: o.avgMs, lost: o.lost, cpuUs: (cpuUs - cpuBefore) / o.completed, perfCpuUs };
}

/** p50 and p99 of every answer at LATENCY_QPS. */
async function latency(gateway: string, queries: string): Promise<{ p50Ms: number; p99Ms: number }> {
  const verbose = await mustTime('ip', [...perfArgs(gateway, queries), '-Q', String(LATENCY_QPS), '-v'], { timeoutMs: PERF_TIMEOUT_MS });
  // -v lines: "> NOERROR c1 A 0.000123"
  const latencies = [...verbose.stdout.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 'NaN');
}

/** One UDP query from the host; resolves the answer's addresses, [] on NXDOMAIN or no answer within timeoutMs. */
function ask(server: string, name: string, timeoutMs = 200): Promise<string[]> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve([]);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve((dnsPacket.decode(m).answers ?? []).map((a) => String((a as dnsPacket.StringAnswer).data)));
    });
    s.send(dnsPacket.encode({ id: 1, type: 'query', questions: [{ name, type: 'A' }] }), 53, server);
  });
}

async function waitFor(probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

interface Measured {
  perf: PerfResult;
  rssIdle: number;
  rssLoaded: number;
}

/** One resolver's medians, and in how many rounds it beat aardvark-dns (`aa`) on queries/s. */
function variantLine(name: string, m: ReturnType<typeof combine>, runs: readonly Measured[], aa: readonly Measured[]): string {
  const won = runs.filter((r, i) => r.perf.qps > aa[i]!.perf.qps).length;
  const ratios = runs.map((r, i) => (r.perf.qps / aa[i]!.perf.qps).toFixed(2)).join(' ');
  return (
    `${name}: ${Math.round(m.perf.qps)} q/s (${m.qpsAll.join(', ')}; vs aardvark ${ratios}, ${won} won), ` +
    `${f1(m.perf.cpuUs)} µs CPU/query (dnsperf ${f1(m.perf.perfCpuUs)}), p99 ${f3(m.perf.p99Ms)} ms (${m.p99All.join(', ')}), RSS ${mib(m.rssIdle)} / ${mib(m.rssLoaded)}`
  );
}

/** Medians over the rounds for speed; the largest RSS seen. */
function combine(runs: readonly Measured[]): Measured & { qpsAll: number[]; p99All: number[] } {
  const med = (pick: (m: Measured) => number) => {
    const v = runs.map(pick).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)]!;
  };
  return {
    perf: {
      qps: med((m) => m.perf.qps),
      avgMs: med((m) => m.perf.avgMs),
      p50Ms: med((m) => m.perf.p50Ms),
      p99Ms: med((m) => m.perf.p99Ms),
      lost: med((m) => m.perf.lost),
      cpuUs: med((m) => m.perf.cpuUs),
      perfCpuUs: med((m) => m.perf.perfCpuUs),
    },
    rssIdle: Math.max(...runs.map((m) => m.rssIdle)),
    rssLoaded: Math.max(...runs.map((m) => m.rssLoaded)),
    qpsAll: runs.map((m) => Math.round(m.perf.qps)),
    p99All: runs.map((m) => Number(m.perf.p99Ms.toFixed(1))),
  };
}

/** A resolver serving the 500 records, answering on its gateway. */
interface Running {
  gateway: string;
  pid: number;
  stop(): Promise<void>;
}

/** As the hook starts it (src/adapters/dns/process-dns-server.ts); DNS_BENCH_NODE_FLAGS to try other V8 flags. */
const SHIPPED: Variant = {
  name: 'tsnerd',
  script: SERVER,
  flags: process.env['DNS_BENCH_NODE_FLAGS']?.split(' ').filter(Boolean) ?? DNS_SERVER_NODE_FLAGS,
};

async function startTsnerd(dir: string, variant: Variant, gateway: string): Promise<Running> {
  const dnsDir = join(dir, `tsnerd-dns-${variant.name}`);
  await mkdir(dnsDir, { recursive: true });
  await writeFile(join(dnsDir, 'records.json'), JSON.stringify(recordSet(gateway)));
  await writeFile(join(dnsDir, 'resolv.conf'), ''); // nothing forwarded
  const child = spawn(process.execPath, [...variant.flags, variant.script, dnsDir], {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, ...DNS_SERVER_ENV },
  });
  const running = { gateway, pid: child.pid!, stop: () => stop(child) };
  try {
    await waitFor(async () => (await ask(gateway, 'c499')).length > 0, 10_000);
    return running;
  } catch (err) {
    await running.stop();
    throw err;
  }
}

async function startAardvark(dir: string): Promise<Running> {
  const config = join(dir, 'aardvark');
  await mkdir(config, { recursive: true });
  await writeFile(join(config, NETWORK), aardvarkConfig());
  // aardvark-dns forks into the background and writes <config>/aardvark.pid.
  await mustTime(AARDVARK, ['--config', config, '-p', '53', 'run'], { timeoutMs: 30_000 });
  const pidFile = join(config, 'aardvark.pid');
  const stopIt = async () => {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 1) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await rm(pidFile, { force: true });
    await sleep(200);
  };
  try {
    await waitFor(async () => existsSync(pidFile) && (await ask(AARDVARK_GATEWAY, 'c499')).length > 0, 10_000);
    return { gateway: AARDVARK_GATEWAY, pid: Number((await readFile(pidFile, 'utf8')).trim()), stop: stopIt };
  } catch (err) {
    await stopIt();
    throw err;
  }
}

/**
 * One round: all resolvers up (tsnerd, the variants, aardvark-dns); RSS with the records
 * loaded; each saturated in turn (the order rotates with `round`); all at LATENCY_QPS at the
 * same time; RSS after. The results in the order tsnerd, variants, aardvark-dns.
 */
async function benchRound(dir: string, queries: string, round: number): Promise<Measured[]> {
  const servers: Running[] = [];
  try {
    servers.push(await startTsnerd(dir, SHIPPED, GATEWAY));
    for (let i = 0; i < VARIANTS.length; i++) servers.push(await startTsnerd(dir, VARIANTS[i]!, variantGateway(i)));
    servers.push(await startAardvark(dir));
    const idle = await Promise.all(servers.map((r) => rssKiB(r.pid)));
    const sat = new Map<Running, Awaited<ReturnType<typeof saturate>>>();
    // Two resolvers: tsnerd first in even rounds (as before the variants); more: a rotation.
    const order = servers.length === 2 ? (round % 2 === 0 ? servers : [...servers].reverse()) : rotate(servers, round);
    for (const r of order) sat.set(r, await saturate(r, queries));
    const lat = await Promise.all(servers.map((r) => latency(r.gateway, queries)));
    const out: Measured[] = [];
    for (const [i, r] of servers.entries()) {
      out.push({ perf: { ...sat.get(r)!, ...lat[i]! }, rssIdle: idle[i]!, rssLoaded: await rssKiB(r.pid) });
    }
    return out;
  } finally {
    for (const r of servers.reverse()) await r.stop();
  }
}

function rotate<T>(list: readonly T[], by: number): T[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** `tsnerd run -d` on a DNS network, then the time until the resolver answers the new name (from the host). */
async function benchFirstAnswer(): Promise<{ coldMs: number; warmMs: number[] }> {
  const env = await startEnv(ENV_NAME);
  try {
    await importTestImage(env);
    const dnsDir = join(env.dataRoot, addressHash(env.address), 'dns');
    await mkdir(dnsDir, { recursive: true });
    await writeFile(join(dnsDir, 'resolv.conf'), '');
    const ok = async (args: string[]) => {
      const r = await tsnerd(env, args);
      if (r.exitCode !== 0) throw new Error(`tsnerd ${args.join(' ')}: ${r.stderr}`);
    };
    await ok(['network', 'create', FIRST_NETWORK, '--subnet', `${NET}.140.0/24`]);
    const firstAnswer = async (name: string) => {
      await ok(['run', '-d', '--name', name, '--net', FIRST_NETWORK, 'busybox', 'sleep', '1000']);
      const returned = performance.now();
      while ((await ask(`${NET}.140.1`, `${name}.${FIRST_NETWORK}`, 50)).length === 0) {
        if (performance.now() - returned > 5_000) throw new Error(`no answer for ${name}`);
      }
      return performance.now() - returned;
    };
    const coldMs = await firstAnswer('r0'); // the resolver is started by this run's hook
    const warmMs: number[] = [];
    for (let i = 1; i <= RUNS; i++) warmMs.push(await firstAnswer(`r${i}`));
    await tsnerd(env, ['rm', '-f', ...Array.from({ length: RUNS + 1 }, (_, i) => `r${i}`)]);
    await tsnerd(env, ['network', 'rm', FIRST_NETWORK]);
    return { coldMs, warmMs };
  } finally {
    await env.stop();
  }
}

const f1 = (n: number) => n.toFixed(1);
const f3 = (n: number) => n.toFixed(3);
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const mb = (kib: number) => `${((kib * 1024) / 1e6).toFixed(1)} MB`;
/** Issue 16: the resolver's RSS ≤ 60 MB (10^6 bytes: 57.2 MiB), in the KiB that /proc reports. */
const RSS_BOUND_KIB = 60e6 / 1024;

const ONLY_PERF = process.env['DNS_BENCH_ONLY'] === 'perf';

async function main(): Promise<void> {
  if (!SERVER) throw new Error('dist/dns-server/main.js is missing: run `npm run build` first');
  if (!existsSync(AARDVARK)) throw new Error(`${AARDVARK} is missing: apt-get install aardvark-dns`);
  const dir = await mkdtemp(join(tmpdir(), 'dns-bench-'));
  const started = new Date();
  const loadBefore = loadavg();
  try {
    await setupNet();
    const queries = await queryFile(dir);
    const names = [SHIPPED.name, ...VARIANTS.map((v) => v.name), 'aardvark'];
    const runs: Measured[][] = names.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}…\n`);
      const measured = await benchRound(dir, queries, round);
      measured.forEach((m, i) => runs[i]!.push(m));
      process.stderr.write(
        `${names.map((n, i) => `${n} ${Math.round(measured[i]!.perf.qps)} q/s ${f1(measured[i]!.perf.cpuUs)}+${f1(measured[i]!.perf.perfCpuUs)} µs/q`).join(', ')}\n`,
      );
    }
    const all = runs.map(combine);
    const ts = all[0]!;
    const aa = all.at(-1)!;
    await teardownNet();
    if (VARIANTS.length > 0) {
      process.stderr.write(`${ROUNDS} rounds, load ${loadBefore.map(f1).join(' ')} → ${loadavg().map(f1).join(' ')}\n`);
      for (const [i, n] of names.entries()) process.stderr.write(`${variantLine(n, all[i]!, runs[i]!, runs.at(-1)!)}\n`);
    }
    if (ONLY_PERF) {
      console.log(JSON.stringify(Object.fromEntries(names.map((n, i) => [n, all[i]]))));
      return;
    }
    process.stderr.write('first answer after run…\n');
    const first = await benchFirstAnswer();
    const aaVersion = (await timeCmd(AARDVARK, ['--version'])).stdout.trim();
    const perfVersion =
      /Version\s+(\S+)/.exec((await timeCmd('dnsperf', ['-h'])).stderr + (await timeCmd('dnsperf', ['-h'])).stdout)?.[1] ?? '?';
    const commit = (await timeCmd('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
    const warmSorted = [...first.warmMs].sort((a, b) => a - b);
    const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
    const verdict = (okay: boolean) => (okay ? 'met' : 'missed');
    const section = [
      MARK_BEGIN,
      '## DNS resolver (issue 16): tsnerd vs aardvark-dns',
      '',
      `Written by \`npm run bench:dns\` (bench/dns.ts) on ${started.toISOString()}, tsnerd at commit ${commit}; ${aaVersion}, dnsperf ${perfVersion}.`,
      `Machine load (1 / 5 / 15 min averages, ${cpus().length} CPUs, shared with other work): ${load(loadBefore)} at the start, ${load(loadavg())} at the end.`,
      `Both serve the same ${RECORDS} container records (one network; tsnerd on ${GATEWAY}, aardvark-dns on ${AARDVARK_GATEWAY}, both addresses of one bridge, port 53), both running through a round; dnsperf runs in netns ${NETNS} behind a veth on the bridge and asks for every name in turn.`,
      `Throughput: \`dnsperf -c 4 -q 200 -l ${DURATION_S}\` (saturating), one resolver after the other. Latency: \`dnsperf -Q ${LATENCY_QPS} -l ${DURATION_S} -v\` against both at the same time (the same machine load for both), percentiles over every answer. RSS: VmRSS after loading the records, and after the load (largest of the rounds).`,
      `${ROUNDS} rounds, alternating which resolver is saturated first; medians. Per round, queries/s tsnerd ${ts.qpsAll.join(', ')} vs aardvark ${aa.qpsAll.join(', ')}; p99 ms tsnerd ${ts.p99All.join(', ')} vs aardvark ${aa.p99All.join(', ')}.`,
      '',
      '| | tsnerd | aardvark-dns | target |',
      '| --- | --- | --- | --- |',
      `| queries/s (saturating) | ${f1(ts.perf.qps)} | ${f1(aa.perf.qps)} | tsnerd ≥ aardvark: ${verdict(ts.perf.qps >= aa.perf.qps)} |`,
      `| average latency at saturation | ${f3(ts.perf.avgMs)} ms | ${f3(aa.perf.avgMs)} ms | |`,
      `| p50 latency at ${LATENCY_QPS} q/s | ${f3(ts.perf.p50Ms)} ms | ${f3(aa.perf.p50Ms)} ms | |`,
      `| p99 latency at ${LATENCY_QPS} q/s | ${f3(ts.perf.p99Ms)} ms | ${f3(aa.perf.p99Ms)} ms | tsnerd ≤ aardvark: ${verdict(ts.perf.p99Ms <= aa.perf.p99Ms)} |`,
      `| queries lost (saturating) | ${ts.perf.lost} | ${aa.perf.lost} | |`,
      `| CPU per query at saturation, the resolver's (dnsperf's) | ${f1(ts.perf.cpuUs)} µs (${f1(ts.perf.perfCpuUs)}) | ${f1(aa.perf.cpuUs)} µs (${f1(aa.perf.perfCpuUs)}) | |`,
      `| RSS, ${RECORDS} records loaded | ${mib(ts.rssIdle)} (${mb(ts.rssIdle)}) | ${mib(aa.rssIdle)} | tsnerd ≤ 60 MB: ${verdict(ts.rssIdle <= RSS_BOUND_KIB)} |`,
      `| RSS after the load | ${mib(ts.rssLoaded)} (${mb(ts.rssLoaded)}) | ${mib(aa.rssLoaded)} | tsnerd ≤ 60 MB: ${verdict(ts.rssLoaded <= RSS_BOUND_KIB)} |`,
      '',
      `First answer after \`tsnerd run -d\` returns (the host asks for \`NAME.NETWORK\` again as soon as an answer, or 50 ms without one, comes back): resolver started by that run ${f1(first.coldMs)} ms; resolver already running, ${RUNS} runs: median ${f1(warmSorted[Math.floor(warmSorted.length / 2)] ?? NaN)} ms, max ${f1(warmSorted.at(-1) ?? NaN)} ms (target ≤ 50 ms: ${verdict(Math.max(first.coldMs, ...first.warmMs) <= 50)}).`,
      MARK_END,
    ].join('\n');
    console.log(section);
    await writeSection(section);
  } finally {
    await teardownNet();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Replaces (or appends) the dns-bench section of bench/RESULTS.md, leaving the rest as it is. */
async function writeSection(section: string): Promise<void> {
  const path = join(REPO_ROOT, 'bench/RESULTS.md');
  const text = await readFile(path, 'utf8').catch(() => '');
  const begin = text.indexOf(MARK_BEGIN);
  const end = text.indexOf(MARK_END);
  const next =
    begin >= 0 && end > begin
      ? `${text.slice(0, begin)}${section}${text.slice(end + MARK_END.length)}`
      : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(path, next);
}

await main();
