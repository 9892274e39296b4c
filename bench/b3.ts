/**
 * B3: does per-container work grow with the number of containers and networks?
 * N detached containers started one after another on one network, then
 * `network ls` / `network inspect` with many networks in the conf dir.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import type { BenchEnv } from './env.ts';
import type { BenchConfig } from './config.ts';
import type { Results } from './results.ts';
import { IMAGE } from './env.ts';
import { firstLine, lines, mustTime, timeCmd } from './proc.ts';
import { median } from './stats.ts';
import { bridgeConfList, chainAdd, chainDel, type ConfList } from './cni-chain.ts';

const SCALE_NET = 'tsbench-scale';
/** Containers of each floor batch (before the run's first and after its last `run -d`). */
const FLOOR_N = 10;

export async function benchB3(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  await scale(env, cfg, results).catch((e: unknown) => results.fail('b3.first10.1', 'B3 run -d, first 10', e));
  await manyNetworks(env, cfg, results).catch((e: unknown) => results.fail('b3.ls500', `B3 network ls (${cfg.networks} networks)`, e));
}

async function scale(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  const created = await env.tsnerd(['network', 'create', env.ownNetwork(SCALE_NET), '--subnet', '10.210.6.0/24']);
  if (created.exitCode !== 0) throw new Error(`network create: ${firstLine(created.stderr)}`);
  try {
    await scaleRuns(env, cfg, results);
  } finally {
    await env.tsnerd(['network', 'rm', SCALE_NET]); // and with it its bridge
  }
}

async function scaleRuns(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  await env.ctrNetwork();
  const raw = await bridgeConfList(env.ownNetwork('tsnerd-bench-b3raw'), 'tsb-b3raw0', '10.210.7.0/24', '10.210.7.1');
  env.onStop(() => env.deleteLink('tsb-b3raw0'));
  for (let run = 1; run <= cfg.scaleRuns; run++) {
    const ids: string[] = [];
    const times: number[] = [];
    const tag = cfg.scaleRuns > 1 ? ` (run ${run}/${cfg.scaleRuns})` : '';
    const floor = { first: await floorBatch(env, raw, `${run}a`), last: { ctr: [] as number[], raw: [] as number[] } };
    // What the batch's removal leaves to finish in the background (containerd's GC, the kernel's
    // netns clean-up) must not slow this run's first containers: they are the ratio's denominator.
    await setTimeout(3000);
    try {
      for (let i = 0; i < cfg.scale; i++) {
        const r = await env.tsnerd(['run', '-d', '--net', SCALE_NET, '--name', `bs${run}x${i}`, 'busybox', 'sleep', '3600']);
        if (r.exitCode !== 0) throw new Error(`container ${i + 1}: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
        ids.push(`bs${run}x${i}`);
        times.push(r.ms);
        if ((i + 1) % 50 === 0) process.stderr.write(`B3${tag} ${i + 1}/${cfg.scale} containers\n`);
      }
      floor.last = await floorBatch(env, raw, `${run}b`);
      results.add({
        key: `b3.first10.${run}`,
        label: `B3 run -d, containers 1-10 of ${cfg.scale}${tag}`,
        unit: 'ms',
        values: times.slice(0, 10),
      });
      results.add({
        key: `b3.last10.${run}`,
        label: `B3 run -d, containers ${cfg.scale - 9}-${cfg.scale}${tag}`,
        unit: 'ms',
        values: times.slice(-10),
      });
      results.add({
        key: `b3.all.${run}`,
        label: `B3 run -d, all ${cfg.scale}${tag}`,
        unit: 'ms',
        values: times,
        note: `median by 50s: ${chunks(times, 50)
          .map((c) => median(c).toFixed(0))
          .join(' / ')}`,
      });
      for (const [what, label] of [
        ['ctr', 'ctr run -d --cni'],
        ['raw', 'raw CNI chain ADD'],
      ] as const) {
        const first = floor.first[what];
        const last = floor.last[what];
        results.add({ key: `b3.floor.${what}.first.${run}`, label: `B3   floor: ${label}, none running${tag}`, unit: 'ms', values: first });
        results.add({
          key: `b3.floor.${what}.last.${run}`,
          label: `B3   floor: ${label}, ${cfg.scale} running${tag}`,
          unit: 'ms',
          values: last,
          note: `${FLOOR_N} each; last / first ${(median(last) / median(first)).toFixed(2)} (tsnerd's ${(median(times.slice(-10)) / median(times.slice(0, 10))).toFixed(2)})`,
        });
      }
      if (run === 1) {
        // with N containers around, the commands that look at all of them
        const ps = await env.tsnerd(['ps', '-a']);
        results.add({
          key: 'b3.ps',
          label: `B3 ps -a with ${cfg.scale} containers`,
          unit: 'ms',
          values: ps.exitCode === 0 ? [ps.ms] : [],
          ...(ps.exitCode ? { error: firstLine(ps.stderr) } : {}),
        });
      }
    } finally {
      await removeContainers(env, ids, results);
    }
  }
}

/**
 * The floor's growth in the same run (docs/performance.md, B3): FLOOR_N `ctr run -d --cni` on the
 * bench's ctr network (containerd and the same plugin chain through libcni, no tsnerd) and FLOOR_N
 * raw chain ADDs in fresh netns (the plugins alone), each batch removed before B3 goes on.
 */
async function floorBatch(env: BenchEnv, raw: ConfList, tag: string): Promise<{ ctr: number[]; raw: number[] }> {
  const out = { ctr: [] as number[], raw: [] as number[] };
  const ids: string[] = [];
  try {
    for (let i = 0; i < FLOOR_N; i++) {
      const id = `b3floor-${tag}-${i}`;
      ids.push(id);
      const r = await env.ctrCni(['run', '-d', '--cni', IMAGE, id, 'sleep', '3600']);
      if (r.exitCode !== 0) throw new Error(`ctr run -d --cni: ${firstLine(r.stderr)}`);
      out.ctr.push(r.ms);
    }
  } finally {
    await env.removeCtrContainers(ids);
  }
  for (let i = 0; i < FLOOR_N; i++) {
    const ns = `tsnerd-bench-b3raw-${process.pid}-${tag}-${i}`;
    await mustTime('ip', ['netns', 'add', ns]);
    const a = { containerId: `bench-b3raw-${tag}-${i}`, netns: `/run/netns/${ns}`, ifName: 'eth0', portMappings: [] };
    let added: unknown;
    try {
      const up = await chainAdd(raw, a);
      added = up.result;
      out.raw.push(up.totalMs);
      await chainDel(raw, a, up.result);
      added = undefined;
    } finally {
      if (added !== undefined) await chainDel(raw, a, added).catch(() => undefined);
      await timeCmd('ip', ['netns', 'del', ns]);
    }
  }
  return out;
}

async function removeContainers(env: BenchEnv, ids: string[], results: Results): Promise<void> {
  const per: number[] = [];
  for (const batch of chunks(ids, 20)) {
    const r = await env.tsnerd(['rm', '-f', ...batch], { timeoutMs: 600_000 });
    if (r.exitCode !== 0) {
      results.fail('b3.rm', 'B3 rm -f (per container, batches of 20)', firstLine(r.stderr));
      return; // the harness's stop() removes what is left
    }
    per.push(r.ms / batch.length);
  }
  if (per.length > 0) results.add({ key: 'b3.rm', label: 'B3 rm -f (per container, batches of 20)', unit: 'ms', values: per });
}

async function manyNetworks(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  const lsKey = 'b3.ls500';
  const lsLabel = `B3 network ls (${cfg.networks} networks)`;
  const base = { key: 'b3.ls.few', label: 'B3 network ls (few networks)', unit: 'ms' as const, values: [] as number[] };
  results.add(base);
  for (let i = 0; i < cfg.warmup + cfg.rounds; i++) {
    const r = await env.tsnerd(['network', 'ls']);
    if (r.exitCode !== 0) throw new Error(firstLine(r.stderr));
    if (i >= cfg.warmup) base.values.push(r.ms);
  }
  // one network through the CLI, the rest cloned from its file: 500 `network create` would take minutes
  const seed = await env.tsnerd(['network', 'create', 'tsbench-n0', '--subnet', subnetFor(0)]);
  if (seed.exitCode !== 0) throw new Error(`network create: ${firstLine(seed.stderr)}`);
  const dir = env.test.netconfPath;
  const seedFile = (await readdir(dir, { recursive: true })).find((f) => f.endsWith('nerdctl-tsbench-n0.conflist'));
  if (!seedFile) throw new Error('network create tsbench-n0 wrote no nerdctl-tsbench-n0.conflist');
  const seedText = await readFile(join(dir, seedFile), 'utf8');
  const seedConf = JSON.parse(seedText) as { nerdctlID?: string; plugins: { bridge?: string }[] };
  const clones: string[] = [];
  try {
    for (let i = 1; i < cfg.networks; i++) {
      let text = seedText
        .replaceAll('"tsbench-n0"', `"tsbench-n${i}"`)
        .replaceAll(subnetFor(0), subnetFor(i))
        .replaceAll(gatewayFor(0), gatewayFor(i));
      if (seedConf.nerdctlID) text = text.replaceAll(seedConf.nerdctlID, randomBytes(32).toString('hex'));
      const bridge = seedConf.plugins[0]?.bridge;
      if (bridge) text = text.replaceAll(`"${bridge}"`, `"tsbn${i}"`);
      const file = join(dir, seedFile.replace('tsbench-n0', `tsbench-n${i}`));
      await writeFile(file, text);
      clones.push(file);
    }
    const ls = { key: lsKey, label: lsLabel, unit: 'ms' as const, values: [] as number[] };
    const inspect = {
      key: 'b3.inspect500',
      label: `B3 network inspect (${cfg.networks} networks)`,
      unit: 'ms' as const,
      values: [] as number[],
    };
    results.add(ls);
    results.add(inspect);
    for (let i = 0; i < cfg.warmup + cfg.rounds; i++) {
      const l = await env.tsnerd(['network', 'ls']);
      if (l.exitCode !== 0) throw new Error(firstLine(l.stderr));
      const listed = lines(l.stdout).filter((x) => /\btsbench-n\d+\b/.test(x)).length;
      if (listed !== cfg.networks) throw new Error(`network ls listed ${listed} of ${cfg.networks} bench networks`);
      const n = await env.tsnerd(['network', 'inspect', `tsbench-n${Math.floor(cfg.networks / 2)}`]);
      if (n.exitCode !== 0) {
        results.fail(inspect.key, inspect.label, firstLine(n.stderr));
      } else if (i >= cfg.warmup) {
        inspect.values.push(n.ms);
      }
      if (i >= cfg.warmup) ls.values.push(l.ms);
    }
  } finally {
    for (const f of clones) await rm(f, { force: true });
    await env.tsnerd(['network', 'rm', 'tsbench-n0']);
  }
}

/** /28s from 10.210.64.0 upwards: 500 networks fit below 10.210.96.0. */
function subnetFor(i: number): string {
  return `10.210.${64 + Math.floor(i / 16)}.${(i % 16) * 16}/28`;
}

function gatewayFor(i: number): string {
  return `"10.210.${64 + Math.floor(i / 16)}.${(i % 16) * 16 + 1}"`;
}

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
