/**
 * `npm run bench:overlay` (issue 15): on the multi-host fabric of the overlay
 * e2e tests (network namespaces with their own containerd, etcd in a core
 * namespace; test/e2e/overlay/fabric.ts), measures
 *  - run→ping: from the start of `tsnerd run` on host A to the first ping
 *    from a container on host B to the new container that succeeds;
 *  - join convergence: from the start of `network create` on a new host C
 *    to the route to C's subnet on A (the etcd watch at work), and to the
 *    first successful ping from A's container to a container on C.
 * Reported, no target. Prints a table and writes bench/RESULTS-overlay.md.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tsnerd } from '../test/e2e/harness.ts';
import { ETCD_URL, Fabric, inNs, type Host } from '../test/e2e/overlay/fabric.ts';
import { machineFacts, REPO_ROOT } from './env.ts';
import { timeCmd } from './proc.ts';

const ROUNDS = Number(process.env['BENCH_OVERLAY_ROUNDS'] ?? 5);
const PREFIX = '/tsnerd-bench/ovl';
const FIRST = [
  '--driver',
  'overlay',
  '--etcd-endpoints',
  ETCD_URL,
  '--subnet',
  '10.217.0.0/17',
  '--vni',
  '1217',
  '--port',
  '48472',
  '-o',
  `etcd-prefix=${PREFIX}`,
];
const JOIN = ['--driver', 'overlay', '--etcd-endpoints', ETCD_URL, '-o', `etcd-prefix=${PREFIX}`];

async function ok(h: Host, args: string[]): Promise<string> {
  const r = await tsnerd(h.env, args, { timeoutMs: 300_000 });
  if (r.exitCode !== 0) throw new Error(`[${h.letter}] tsnerd ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function ipOf(h: Host, name: string): Promise<string> {
  return (JSON.parse(await ok(h, ['inspect', name])) as { NetworkSettings: { IPAddress: string } }[])[0]!.NetworkSettings.IPAddress;
}

/** Pings from inside a container until one answer (the loop runs in the container: no exec per attempt). */
/** Returns how many pings failed before one answered. */
async function pingUntil(h: Host, container: string, ip: string): Promise<number> {
  const out = await ok(h, [
    'exec',
    container,
    'sh',
    '-c',
    `i=0; until ping -c1 -W1 ${ip} >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 600 ] && exit 1; sleep 0.02; done; echo $i`,
  ]);
  return Number(out.trim());
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `${med.toFixed(0)} ms (min ${s[0]!.toFixed(0)}, max ${s.at(-1)!.toFixed(0)}, n=${s.length})`;
}

const fabric = new Fabric('b-ovl');
const runToPing: number[] = [];
const runOnly: number[] = [];
const execBaseline: number[] = [];
let failedPings = 0;
const joinRoute: number[] = [];
const joinPing: number[] = [];
const joinCreate: number[] = [];
try {
  await fabric.start();
  const [a, b, c] = await Promise.all([fabric.addHost('a', 1), fabric.addHost('b', 2), fabric.addHost('c', 3)]);
  await ok(a, ['network', 'create', 'ovl-net', ...FIRST]);
  await ok(b, ['network', 'create', 'ovl-net', ...JOIN]);
  await ok(a, ['run', '-d', '--name', 'cli-a', '--net', 'ovl-net', 'busybox', 'sleep', '100000']);
  await ok(b, ['run', '-d', '--name', 'cli-b', '--net', 'ovl-net', 'busybox', 'sleep', '100000']);
  await pingUntil(b, 'cli-b', await ipOf(a, 'cli-a'));

  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await ok(a, ['run', '-d', '--name', `web-${i}`, '--net', 'ovl-net', 'busybox', 'sleep', '100000']);
    runOnly.push(performance.now() - t0);
    failedPings += await pingUntil(b, 'cli-b', await ipOf(a, `web-${i}`));
    runToPing.push(performance.now() - t0);
    // The same inspect + exec + ping towards a container that was already there: the measuring overhead.
    const t1 = performance.now();
    await pingUntil(b, 'cli-b', await ipOf(a, 'cli-a'));
    execBaseline.push(performance.now() - t1);
    await ok(a, ['rm', '-f', `web-${i}`]);
  }

  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const creating = ok(c, ['network', 'create', 'ovl-net', ...JOIN]);
    let routeAt: number | undefined;
    const watching = (async () => {
      // C's subnet is known once its lease is in etcd; poll A's routes for a new one on the device.
      const before = (await inNs(a.netns, 'ip', ['-j', 'route', 'show', 'dev', 'flannel.1217'])).stdout;
      for (;;) {
        const now = (await inNs(a.netns, 'ip', ['-j', 'route', 'show', 'dev', 'flannel.1217'])).stdout;
        if (JSON.parse(now).length > JSON.parse(before).length) return (routeAt = performance.now() - t0);
        if (performance.now() - t0 > 60_000) throw new Error('no route to the new host on A within 60 s');
      }
    })();
    await creating;
    joinCreate.push(performance.now() - t0);
    await ok(c, ['run', '-d', '--name', 'web-c', '--net', 'ovl-net', 'busybox', 'sleep', '100000']);
    await pingUntil(a, 'cli-a', await ipOf(c, 'web-c'));
    joinPing.push(performance.now() - t0);
    await watching;
    joinRoute.push(routeAt!);
    await ok(c, ['rm', '-f', 'web-c']);
    await ok(c, ['network', 'rm', 'ovl-net']);
  }
} finally {
  await fabric.stop();
}

const rows: [string, string][] = [
  ['run on A → first ping from B', stats(runToPing)],
  ['  of which `run -d` on A itself', stats(runOnly)],
  ['  inspect + exec + ping to a container already there', stats(execBaseline)],
  ['  pings lost before the first answer (all rounds)', String(failedPings)],
  ['new host C: network create returns', stats(joinCreate)],
  ['new host C: route to C on A (etcd watch)', stats(joinRoute)],
  ['new host C: create + run on C → first ping from A', stats(joinPing)],
];
for (const [k, v] of rows) console.log(`${k.padEnd(52)} ${v}`);
const facts = await machineFacts();
const commit = (await timeCmd('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
await writeFile(
  join(REPO_ROOT, 'bench/RESULTS-overlay.md'),
  [
    '# Overlay benchmark results',
    '',
    `Written by \`npm run bench:overlay\` (bench/overlay.ts) on ${new Date().toISOString()}, tsnerd at commit ${commit}, ${ROUNDS} rounds.`,
    'Three hosts as network namespaces on one machine (test/e2e/overlay/fabric.ts), etcd 3.4 in a fourth. Wall clock as seen by the bench; reported, no target (issue 15).',
    '',
    '## Machine',
    '',
    ...Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## Results (median, min, max)',
    '',
    '| what | time |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
  ].join('\n'),
);
