/**
 * `npm run bench`: tsnerd against ctr, podman and the raw CNI chain on this machine
 * (see issue 6 for the scenarios and targets). Prints a table and writes
 * bench/RESULTS.md. A failing tsnerd scenario is reported, not fatal; everything
 * the bench created is removed at the end, also on failure or Ctrl-C.
 */
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { BenchEnv, machineFacts, REPO_ROOT } from './env.ts';
import { benchConfig, type BenchConfig } from './config.ts';
import { FLOOR_KEYS, Results, evaluate, markdownTable, sampleTable, textTable } from './results.ts';
import { benchB1 } from './b1.ts';
import { benchB2 } from './b2.ts';
import { benchB3 } from './b3.ts';
import { benchB4 } from './b4.ts';
import { benchRss } from './rss.ts';
import { benchMem } from './mem.ts';
import { timeCmd } from './proc.ts';

type Scenario = (env: BenchEnv, cfg: BenchConfig, results: Results) => Promise<void>;
const SCENARIOS: [string, Scenario][] = [
  ['B1', benchB1],
  ['B2', benchB2],
  ['RSS', benchRss],
  ['B4', benchB4],
  ['MEM', benchMem],
  ['B3', benchB3],
];

const cfg = benchConfig();
const results = new Results();
const started = new Date();
const env = await BenchEnv.start();
let interrupted = false;
const onSignal = () => {
  interrupted = true;
  process.stderr.write('interrupted: cleaning up after the current step…\n');
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
try {
  for (const [id, scenario] of SCENARIOS) {
    if (!cfg.only.has(id) || interrupted) continue;
    process.stderr.write(`== ${id}\n`);
    await scenario(env, cfg, results).catch((e: unknown) => results.fail(`${id.toLowerCase()}.error`, `${id} (aborted)`, e));
  }
} finally {
  await env.stop();
}

addFloor();
const table = textTable(sampleTable(results));
const targets = evaluate(results, cfg.scaleRuns);
const targetRows = [['target', 'measured', 'verdict'], ...targets.map((t) => [`${t.id}: ${t.text}`, t.measured, t.verdict])];
console.log(table);
console.log('');
console.log(textTable(targetRows));
await writeResults(await machineFacts());
if (interrupted) process.exitCode = 130;

/** The floor row: the sum of its parts' medians from this run. */
function addFloor(): void {
  const parts = FLOOR_KEYS.map((k) => results.median(k));
  if (parts.some((p) => typeof p === 'string')) return;
  results.add({
    key: 'b1.floor',
    label: 'B1 floor: ctr run --rm + raw ADD + raw DEL',
    unit: 'ms',
    values: [(parts as number[]).reduce((a, b) => a + b, 0)],
    note: 'sum of the three medians of this run',
  });
}

async function writeResults(facts: Record<string, string>): Promise<void> {
  const commit = (await timeCmd('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
  const text = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${started.toISOString()}, tsnerd at commit ${commit}.`,
    `Rounds: ${cfg.rounds} after ${cfg.warmup} warm-up; B3 ${cfg.scale} containers (${cfg.scaleRuns} runs) and ${cfg.networks} networks; B4 ${cfg.concurrency} containers × ${cfg.concurrencyRounds} rounds; MEM ${cfg.memContainers} containers; scenarios ${[...cfg.only].join(', ')}.`,
    'Medians with min/max, wall-clock from spawn to exit as seen by the bench process. Scenarios: issue 6; goals: issue 14; the breakdown of one run and what each missed goal would take: docs/performance.md.',
    '',
    '## Machine',
    '',
    ...Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## Targets',
    '',
    markdownTable(targetRows),
    '',
    '## All samples',
    '',
    markdownTable(sampleTable(results)),
    '',
    '## How each tool was run',
    '',
    '- tsnerd: `bin/tsnerd` (pinned Node 24, compiled dist/) against a private containerd started by the e2e harness (temp root, state and socket), temp data root and CNI conf dir.',
    "- ctr: the same containerd and namespace. ctr 1.6 reads CNI configuration only from /etc/cni/net.d, so `ctr run --cni` runs inside `unshare --mount` with the bench's conf dir bind-mounted over /etc/cni/net.d (the host's directory is never changed); the ~2 ms this adds are included. Its conflist is tsnerd's bridge template (bridge → portmap → firewall → tuning). ctr has no `-p`, so portmap adds no mapping there, and ctr's DEL passes no netns (the bridge plugin skips its in-netns work).",
    "- podman: Debian podman with netavark, private `--root`/`--runroot`/tmp dir and network config dir (CONTAINERS_CONF), default network on 10.210.4.0/24 (no DNS, like tsnerd's `bridge`), cgroupfs, file events; `--ulimit nofile=…:… --ulimit nproc=4096:4096` because podman's default rlimits exceed this machine's hard limits.",
    '- raw CNI chain: the Debian plugins in /usr/lib/cni run directly (CNI_* env, config on stdin, prevResult chained, DEL in reverse with the ADD result), one fresh `ip netns` per round, one port mapping.',
    '- hook: `node dist/cli.js internal oci-hook createRuntime|postStop <settings>` exactly as runc runs it, with a synthetic OCI state for a `sleep` in a fresh netns, one network and one published port; peak RSS from GNU time. Its rounds alternate with the raw chain rounds; the split of its time (start-up, plugins, own work) and its per-plugin times come from the log of the hook.',
    "- B4 runs two pairings, each with its own ratio: both tools on their default network (`tsnerd run -d --net bridge`, `podman run -d --network bridge`; no name resolver on either side), and both on a user network with DNS: tsnerd on `tsbench-conc` (10.210.7.0/24, its resolver serves container names) against podman on `tsbench-pconc` (10.210.8.0/24, made by `podman network create`, DNS enabled: netavark starts Debian's aardvark-dns, checked in every round). Each round starts the containers at once and removes them after; the podman network and its bridge are removed at the end.",
    "- floor of `run --rm --net bridge -p`: the medians of `ctr run --rm` (same image and containerd, no network) + the raw chain's ADD + its DEL, all from this run.",
    "- B3's floor, in each run: 10 `ctr run -d --cni` (the ctr network above: containerd and the same plugin chain through libcni, no tsnerd) and 10 raw chain ADDs (a fresh `ip netns` each, no port, DEL right after) before the run's first `run -d` (then 3 s for the removal's background work), and again after its last (with all of its containers running); each batch is removed before B3 goes on (ctr's tasks and containers deleted, what their attachments left removed by ID). last / first of each is printed beside tsnerd's.",
    "- MEM: N `run -d --net bridge -p 127.0.0.1:P:80 busybox sleep 3600` one after another (ports 41500…), then the VmRSS (and PSS) of every process running from this checkout's dist/ (the port holder; containerd, shims and runc excluded); podman the same with ports 41750…, counting its conmon (and any podman, aardvark-dns, rootlessport) processes of the bench's private root.",
    '',
  ].join('\n');
  // bench/dns.ts keeps its own section between markers: carried over as it is.
  const previous = await readFile(join(REPO_ROOT, 'bench/RESULTS.md'), 'utf8').catch(() => '');
  const dns = /<!-- dns-bench:begin -->[\s\S]*<!-- dns-bench:end -->/.exec(previous)?.[0];
  await writeFile(join(REPO_ROOT, 'bench/RESULTS.md'), dns ? `${text}\n${dns}\n` : text);
  process.stderr.write(`wrote bench/RESULTS.md\n`);
}
