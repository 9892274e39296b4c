/**
 * Interleaved A/B of `run -d` on one network as the containers pile up (B3's
 * growth), between this checkout and another (AB_BASE, built): the two builds
 * take turns container by container, so both see the same number of peers
 * and the same load. Each container's createRuntime log (served by each
 * build's own hook server) is split into: request → first log line (start),
 * request → `CNI lock taken` (pre),
 * the plugins (`ADD` → `ADD done`), `ADD done` → `done` (post: hosts and DNS
 * joins), the whole hook and its own part (the whole less the plugins); with
 * `run -d`'s wall time beside. Prints medians
 * per build for the first and the last JOIN_BUCKET containers of each.
 *   AB_BASE=/path/to/main JOIN_N=200 scripts/node bench/join-ab.ts
 * Knobs: JOIN_N (containers in all, default 100), JOIN_BUCKET (20), AB_NAME
 * (startEnv name and network, default hj-ab), AB_SUBNET (10.244.2.0/23).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { importTestImage, startEnv, tsnerd } from '../test/e2e/harness.ts';
import { StoreLayout } from '../src/domain/store-layout.ts';
import { REPO_ROOT } from './env.ts';

const BASE = process.env['AB_BASE'];
const N = Number(process.env['JOIN_N'] ?? 100);
const BUCKET = Number(process.env['JOIN_BUCKET'] ?? 20);
const NAME = process.env['AB_NAME'] ?? 'hj-ab';
const SUBNET = process.env['AB_SUBNET'] ?? '10.244.2.0/23';
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface Split {
  wall: number;
  hook: number;
  own: number;
  start: number;
  pre: number;
  add: number;
  post: number;
}

/** The `+Nms` of the first line whose text (after the time) starts with `what`. */
function at(log: string, what: string): number {
  for (const line of log.split('\n')) {
    const m = / \+([\d.]+)ms (.*)$/.exec(line);
    if (m && m[2]!.startsWith(what)) return Number(m[1]);
  }
  throw new Error(`no "${what}" in the hook log:\n${log}`);
}

const env = await startEnv(NAME);
const ids: string[] = [];
try {
  await importTestImage(env);
  const created = await tsnerd(env, ['network', 'create', NAME, '--subnet', SUBNET]);
  if (created.exitCode !== 0) throw new Error(created.stderr);
  const layout = new StoreLayout(env.dataRoot, env.address);
  const builds: [string, string][] = [
    ...(BASE ? [['base', join(BASE, 'bin/tsnerd')] as [string, string]] : []),
    ['this', join(REPO_ROOT, 'bin/tsnerd')],
  ];
  const splits = new Map<string, Split[]>(builds.map(([n]) => [n, []]));
  const load0 = loadavg();
  for (let i = 0; i < N; i++) {
    const [name, bin] = builds[i % builds.length]!;
    const t0 = performance.now();
    const r = await execa(bin, ['run', '-d', '--net', NAME, 'busybox', 'sleep', '3600'], { env: env.env, reject: false, timeout: 60_000 });
    const wall = performance.now() - t0;
    if (r.exitCode !== 0) throw new Error(`${name} container ${i + 1}: ${r.stderr}`);
    const id = r.stdout.trim();
    ids.push(id);
    const log = readFileSync(join(layout.containerDir(env.namespace, id), 'oci-hook.createRuntime.log'), 'utf8');
    if (i < builds.length && process.env['JOIN_SHOW_LOG']) console.log(`${name}:\n${log}`);
    if (process.env['JOIN_LOG_DIR']) writeFileSync(join(process.env['JOIN_LOG_DIR'], `${String(i).padStart(4, '0')}-${name}.log`), log);
    const start = at(log, 'createRuntime');
    const lock = at(log, 'CNI lock taken');
    const add0 = at(log, 'ADD ');
    const add1 = at(log, 'ADD done');
    const done = at(log, 'done');
    splits.get(name)!.push({ wall, hook: done, own: done - (add1 - add0), start, pre: lock, add: add1 - add0, post: done - add1 });
    if ((i + 1) % 50 === 0) process.stderr.write(`${i + 1}/${N} containers, load ${loadavg()}\n`);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(`containers ${N} (builds alternating), load ${load0} -> ${loadavg()}`);
  for (const [name, s] of splits) {
    for (const [what, part] of [
      ['first', s.slice(0, BUCKET)],
      ['last', s.slice(-BUCKET)],
    ] as const) {
      const m = (k: keyof Split) => median(part.map((x) => x[k])).toFixed(1);
      console.log(
        `${name.padEnd(5)} ${what.padEnd(5)} ${BUCKET}: wall ${m('wall')}  hook ${m('hook')}  own ${m('own')}  start ${m('start')}  pre ${m('pre')}  plugins ${m('add')}  post ${m('post')}`,
      );
    }
  }
} finally {
  for (let i = 0; i < ids.length; i += 20) await tsnerd(env, ['rm', '-f', ...ids.slice(i, i + 20)], { timeoutMs: 300_000 });
  await tsnerd(env, ['network', 'rm', NAME]);
  await env.stop();
}
