/**
 * B3 taken apart: N `tsnerd run -d` on one network one after another (B3's loop),
 * each traced (TSNERD_TRACE=1: the containerd calls) with its createRuntime hook log
 * (phases and each plugin's time), and, with PROBE_CTR=1, a `ctr run -d --cni` on a
 * network of the same chain after each one (the floor: containerd plus libcni, no
 * tsnerd), so both see the same number of containers and rules. Prints medians of
 * each component for buckets of containers (1-10, 41-50, ..., N-9..N).
 *   PROBE_N=200 PROBE_CTR=1 scripts/node bench/b3-probe.ts
 * Knobs: PROBE_N (100), PROBE_CTR (0), PROBE_NAME (startEnv name and network, hb3p),
 * PROBE_SUBNET (10.246.0.0/23), PROBE_CTR_SUBNET (10.246.4.0/23), PROBE_BRIDGE (hb3c0),
 * PROBE_OUT (a JSON file with every container's numbers).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { importTestImage, startEnv, tsnerd } from '../test/e2e/harness.ts';
import { StoreLayout } from '../src/domain/store-layout.ts';
import { bridgeConfList, type ConfList } from './cni-chain.ts';
import { IMAGE, REPO_ROOT, removeDetachedCtr } from './env.ts';
import { removeBridgeRules } from '../src/adapters/netfilter/isolation-rules.ts';

const N = Number(process.env['PROBE_N'] ?? 100);
const CTR = process.env['PROBE_CTR'] === '1';
const NAME = process.env['PROBE_NAME'] ?? 'hb3p';
const SUBNET = process.env['PROBE_SUBNET'] ?? '10.246.0.0/23';
const CTR_SUBNET = process.env['PROBE_CTR_SUBNET'] ?? '10.246.4.0/23';
const CTR_BRIDGE = process.env['PROBE_BRIDGE'] ?? 'hb3c0';
const BIN = process.env['PROBE_BIN'] ?? join(REPO_ROOT, 'bin/tsnerd');
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

type Row = Record<string, number>;

/** The `+Nms` of the first line whose text (after the time) starts with `what`. */
function at(log: string, what: string): number | undefined {
  for (const line of log.split('\n')) {
    const m = / \+([\d.]+)ms (.*)$/.exec(line);
    if (m && m[2]!.startsWith(what)) return Number(m[1]);
  }
  return undefined;
}

function hookSplit(log: string): Row {
  const row: Row = {};
  const start = at(log, 'createRuntime');
  const lock = at(log, 'CNI lock taken');
  const add0 = at(log, 'ADD ');
  const add1 = at(log, 'ADD done');
  const done = at(log, 'done');
  if (done !== undefined) row['hook'] = done;
  if (start !== undefined) row['hook.start'] = start;
  if (lock !== undefined) row['hook.pre'] = lock;
  if (add0 !== undefined && add1 !== undefined) row['hook.plugins'] = add1 - add0;
  if (add1 !== undefined && done !== undefined) row['hook.post'] = done - add1;
  const hosts = at(log, 'hosts files updated');
  const dns = at(log, 'DNS records updated');
  if (add1 !== undefined && hosts !== undefined) row['hook.post.hosts'] = hosts - add1;
  if (add1 !== undefined && dns !== undefined) row['hook.post.dns'] = dns - add1;
  if (done !== undefined && add0 !== undefined && add1 !== undefined) row['hook.own'] = done - (add1 - add0);
  for (const m of log.matchAll(/plugin (\S+) ADD (\d+)ms/g)) row[`plugin.${m[1]}`] = (row[`plugin.${m[1]}`] ?? 0) + Number(m[2]);
  return row;
}

function traceSplit(stderr: string, wall: number): Row {
  const row: Row = {};
  const calls = [...stderr.matchAll(/^tsnerd trace: \+(\d+)ms grpc (\S+) ([\d.]+)ms$/gm)].map((m) => ({
    end: Number(m[1]),
    method: m[2]!,
    ms: Number(m[3]),
  }));
  if (calls.length === 0) return row;
  row['cli.first'] = calls[0]!.end - calls[0]!.ms;
  row['cli.lastToExit'] = wall - Math.max(...calls.map((c) => c.end));
  let sum = 0;
  for (const c of calls) {
    const k = `grpc.${c.method.replace(/^\/?containerd\.services\./, '').replace(/\.v1\./, '.')}`;
    row[k] = (row[k] ?? 0) + c.ms;
    sum += c.ms;
  }
  row['grpc.sum'] = sum;
  return row;
}

const RUNS = Number(process.env['PROBE_RUNS'] ?? 1);
const IPT = process.env['PROBE_IPT'] === '1';
const env = await startEnv(NAME);
const ids: string[] = [];
const ctrIds: string[] = [];
const confDir = mkdtempSync(join(tmpdir(), `${NAME}-ctrconf-`));
const ctrNet = `${NAME}-ctr`;
let ctrList: ConfList | undefined;
const CPU = process.env['PROBE_CPU'] === '1';
/**
 * PROBE_CPU=1: CPU time by component from private cpuacct groups (cgroup v1; children inherit
 * their parent's group): `cli` (the CLI and its lock helper), `cd` (containerd, the shims,
 * runc and the hook client they start), `hook` (the hook server, moved when found, and what it
 * spawns: plugins, iptables), `ctr` (ctr run --cni and its plugins). Deltas per command.
 */
const CG = `/sys/fs/cgroup/cpuacct/${NAME}probe`;
const GROUPS = ['cli', 'cd', 'hook', 'ctr', 'ipt'] as const;
function cgSetup(): void {
  for (const g of GROUPS) mkdirSync(join(CG, g), { recursive: true });
}
function cgUsage(): Record<string, number> {
  return Object.fromEntries(GROUPS.map((g) => [g, Number(readFileSync(join(CG, g, 'cpuacct.usage'), 'utf8')) / 1e6]));
}
function cgMove(group: string, pid: number): void {
  try {
    writeFileSync(join(CG, group, 'cgroup.procs'), String(pid));
  } catch {
    /* gone */
  }
}
/** Processes whose command line contains `needle` (and `also`), by pid. */
function pidsWith(needle: string, also?: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(needle) && (also === undefined || cmd.includes(also))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}
/** CPU ms of a process's own threads so far (schedstat: ns on the CPU), children not included. */
function ownCpu(pid: number): number {
  let ns = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    /* gone */
  }
  return ns / 1e6;
}
function cgTeardown(): void {
  for (const g of GROUPS) {
    const path = join(CG, g);
    if (!existsSync(path)) continue;
    for (const pid of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) cgMove('..', Number(pid)); // back to the probe's parent group
    try {
      rmdirSync(path);
    } catch {
      /* still busy */
    }
  }
  try {
    rmdirSync(CG);
  } catch {
    /* still busy */
  }
}
let containerdPid = 0;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Wall ms of one command, and with PROBE_CPU its CPU ms (the `ipt` group). */
async function timed(cmd: string, args: string[]): Promise<[number, number]> {
  const u0 = CPU ? cgUsage() : {};
  const t0 = performance.now();
  if (CPU)
    await execa('sh', ['-c', `echo $$ > ${CG}/ipt/cgroup.procs && exec "$0" "$@"`, cmd, ...args], { reject: false, timeout: 60_000 });
  else await execa(cmd, args, { reject: false, timeout: 60_000 });
  const ms = performance.now() - t0;
  return [ms, CPU ? cgUsage()['ipt']! - u0['ipt']! : Number.NaN];
}

async function ctrRunCni(cid: string): Promise<number> {
  const c0 = performance.now();
  const script = 'mount --bind "$0" /etc/cni/net.d && exec ctr "$@"';
  const args = ['-a', env.address, '-n', env.namespace, 'run', '-d', '--cni', IMAGE, cid, 'sleep', '3600'];
  const inGroup = CPU ? `echo $$ > ${CG}/ctr/cgroup.procs && ` : '';
  const c = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', inGroup + script, confDir, ...args], {
    reject: false,
    timeout: 60_000,
  });
  if (c.exitCode !== 0) throw new Error(`ctr ${cid}: ${c.stderr}`);
  return performance.now() - c0;
}

async function oneRun(run: number, layout: StoreLayout): Promise<Row[]> {
  const rows: Row[] = [];
  for (let i = 0; i < N; i++) {
    let u0: Record<string, number> = {};
    let hookPids: number[] = [];
    let own0 = { hook: 0, containerd: 0 };
    if (CPU) {
      hookPids = pidsWith('hook-server/main.js', env.dataRoot);
      for (const pid of hookPids) cgMove('hook', pid);
      own0 = { hook: hookPids.reduce((a, p) => a + ownCpu(p), 0), containerd: ownCpu(containerdPid) };
      u0 = cgUsage();
    }
    const t0 = performance.now();
    const cliArgs = ['run', '-d', '--net', NAME, 'busybox', 'sleep', '3600'];
    const r = await execa(CPU ? 'sh' : BIN, CPU ? ['-c', `echo $$ > ${CG}/cli/cgroup.procs && exec "$0" "$@"`, BIN, ...cliArgs] : cliArgs, {
      env: { ...env.env, TSNERD_TRACE: '1' },
      reject: false,
      timeout: 60_000,
    });
    const wall = performance.now() - t0;
    if (r.exitCode !== 0) throw new Error(`container ${i + 1}: ${r.stderr}`);
    const id = r.stdout.trim();
    ids.push(id);
    const log = readFileSync(join(layout.containerDir(env.namespace, id), 'oci-hook.createRuntime.log'), 'utf8');
    if (i === 0 && process.env['PROBE_SHOW']) console.log(`${log}\n${r.stderr}`);
    const row: Row = { wall, ...traceSplit(r.stderr, wall), ...hookSplit(log) };
    if (CPU) {
      const u1 = cgUsage();
      for (const g of ['cli', 'cd', 'hook']) row[`cpu.${g}`] = u1[g]! - u0[g]!;
      row['cpu.sum'] = row['cpu.cli']! + row['cpu.cd']! + row['cpu.hook']!;
      const hookNow = pidsWith('hook-server/main.js', env.dataRoot);
      if (hookNow.length === 1 && hookPids.length === 1 && hookNow[0] === hookPids[0]) {
        row['cpu.hook.server'] = ownCpu(hookNow[0]!) - own0.hook;
        row['cpu.hook.children'] = row['cpu.hook']! - row['cpu.hook.server'];
      }
      row['cpu.cd.containerd'] = ownCpu(containerdPid) - own0.containerd;
      row['cpu.cd.shim+runc'] = row['cpu.cd']! - row['cpu.cd.containerd'];
    }
    if (CTR) {
      const cid = `${NAME}r${run}c${i}`;
      ctrIds.push(cid);
      const u0c = CPU ? cgUsage() : {};
      row['ctr.wall'] = await ctrRunCni(cid);
      if (CPU) {
        const u1 = cgUsage();
        row['ctr.cpu.ctr'] = u1['ctr']! - u0c['ctr']!;
        row['ctr.cpu.cd'] = u1['cd']! - u0c['cd']!;
        row['ctr.cpu.sum'] = row['ctr.cpu.ctr']! + row['ctr.cpu.cd']!;
      }
    }
    if (IPT) {
      for (const [k, args] of [
        ['nat.S', ['-t', 'nat', '-S']],
        ['filter.S', ['-t', 'filter', '-S']],
        ['nat.C', ['-t', 'nat', '-C', 'POSTROUTING', '-s', '192.0.2.1/32', '-j', 'ACCEPT']],
        ['version', ['--version']],
      ] as const) {
        const [ms, cpu] = await timed('iptables', [...args]);
        row[`ipt.${k}`] = ms;
        if (CPU) row[`ipt.${k}.cpu`] = cpu;
      }
    }
    rows.push(row);
    if ((i + 1) % 50 === 0) process.stderr.write(`run ${run}: ${i + 1}/${N} containers, load ${loadavg()}\n`);
  }
  return rows;
}

function report(title: string, rows: Row[]): void {
  const buckets: [string, Row[]][] = [];
  for (let s = 0; s + 10 <= N; s += 50) buckets.push([`${s + 1}-${s + 10}`, rows.slice(s, s + 10)]);
  buckets.push([`${N - 9}-${N}`, rows.slice(-10)]);
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  console.log(title);
  console.log(['component'.padEnd(28), ...buckets.map(([b]) => b.padStart(9)), '  last-first'].join(''));
  for (const k of keys) {
    const ms = buckets.map(([, rs]) => median(rs.map((r) => r[k]).filter((x): x is number => x !== undefined)));
    const d = ms[0] !== undefined && ms.at(-1) !== undefined ? (ms.at(-1)! - ms[0]).toFixed(1) : '';
    console.log([k.padEnd(28), ...ms.map((x) => (x === undefined ? '-' : x.toFixed(1)).padStart(9)), d.padStart(12)].join(''));
  }
}

async function removeAll(): Promise<void> {
  for (let i = 0; i < ids.length; i += 20) await tsnerd(env, ['rm', '-f', ...ids.slice(i, i + 20)], { timeoutMs: 300_000 });
  ids.length = 0;
  if (ctrIds.length > 0 && ctrList) await removeDetachedCtr(env.address, env.namespace, confDir, ctrList, ctrIds);
  ctrIds.length = 0;
}

try {
  if (CPU) {
    cgSetup();
    for (const pid of pidsWith('containerd', join(env.dir, 'containerd.toml'))) cgMove('cd', (containerdPid = pid));
  }
  await importTestImage(env);
  const created = await tsnerd(env, ['network', 'create', NAME, '--subnet', SUBNET]);
  if (created.exitCode !== 0) throw new Error(created.stderr);
  if (CTR) {
    ctrList = await bridgeConfList(ctrNet, CTR_BRIDGE, CTR_SUBNET, CTR_SUBNET.replace(/\.0\/\d+$/, '.1'));
    writeFileSync(join(confDir, '10-probe.conflist'), JSON.stringify(ctrList));
  }
  const layout = new StoreLayout(env.dataRoot, env.address);
  const all: Row[][] = [];
  for (let run = 1; run <= RUNS; run++) {
    const load0 = loadavg();
    const rows = await oneRun(run, layout);
    all.push(rows);
    report(`run ${run}: containers ${N}${CTR ? ' (each followed by ctr run -d --cni)' : ''}, load ${load0} -> ${loadavg()}`, rows);
    if (run < RUNS) await removeAll();
  }
  if (process.env['PROBE_OUT']) writeFileSync(process.env['PROBE_OUT'], JSON.stringify(all));
} finally {
  await removeAll();
  if (CTR) {
    await execa('ip', ['link', 'del', CTR_BRIDGE], { reject: false });
    await removeBridgeRules(CTR_BRIDGE);
    rmSync(join('/var/lib/cni/networks', ctrNet), { recursive: true, force: true });
  }
  rmSync(confDir, { recursive: true, force: true });
  await tsnerd(env, ['network', 'rm', NAME]);
  await env.stop();
  if (CPU) {
    await new Promise((r) => setTimeout(r, 6000)); // the hook server's idle exit
    cgTeardown();
  }
}
