/**
 * MEM (issue 14): resident memory of the tool's own processes with N running
 * containers each publishing one host port, tsnerd vs podman. containerd, its
 * shims and runc are excluded for tsnerd (they are containerd's); for podman
 * the per-container conmon processes (and any podman, aardvark-dns or
 * rootlessport process of the bench's podman) are counted, as they are what
 * podman keeps running for its containers. Host ports 41500-41999 (bench range).
 */
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnv } from './env.ts';
import { REPO_ROOT } from './env.ts';
import type { BenchConfig } from './config.ts';
import type { Results } from './results.ts';
import { firstLine } from './proc.ts';

const TSNERD_PORT_BASE = 41500;
const PODMAN_PORT_BASE = 41750;

interface ProcMem {
  pid: number;
  name: string;
  rssKiB: number;
  pssKiB: number;
}

export async function benchMem(env: BenchEnv, cfg: BenchConfig, results: Results): Promise<void> {
  const n = Math.min(cfg.memContainers, 240);
  const tsLabel = `MEM tsnerd's own processes at rest, ${n} running containers with -p`;
  const pmLabel = `MEM podman's own processes (conmon …), ${n} running containers with -p`;
  const names: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const name = `bm${i}`;
      const r = await env.tsnerd([
        'run',
        '-d',
        '--net',
        'bridge',
        '--name',
        name,
        '-p',
        `127.0.0.1:${TSNERD_PORT_BASE + i}:80`,
        'busybox',
        'sleep',
        '3600',
      ]);
      if (r.exitCode !== 0) throw new Error(`container ${i + 1}: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
      names.push(name);
      if ((i + 1) % 25 === 0) process.stderr.write(`MEM tsnerd ${i + 1}/${n} containers\n`);
    }
    const ours = (cmd: string) => cmd.includes(`${REPO_ROOT}/dist/`) || cmd.includes(`${REPO_ROOT}/bin/`);
    const isHookServer = (cmd: string) => cmd.includes(`${REPO_ROOT}/dist/hook-server/`);
    const isCliServer = (cmd: string) => cmd.includes(`${REPO_ROOT}/dist/cli.js internal cli-server `);
    // Right after the last start the hook server and the CLI server are still alive (each exits when idle): what they add.
    const server = (await processes(isHookServer)).filter((p) => p.rssKiB > 0);
    if (server.length > 0) record(results, 'mem.hookserver', 'MEM hook server while alive (right after the last start)', server);
    const cliServer = (await processes(isCliServer)).filter((p) => p.rssKiB > 0);
    if (cliServer.length > 0) record(results, 'mem.cliserver', 'MEM CLI server while alive (right after the last start)', cliServer);
    // At rest: once both have gone (5 s idle, docs/architecture.md).
    const servers = (cmd: string) => isHookServer(cmd) || isCliServer(cmd);
    for (let waited = 0; waited < 30_000 && (await processes(servers)).length > 0; waited += 250) await sleep(250);
    const procs = await processes(ours);
    record(results, 'mem.tsnerd', tsLabel, procs);
  } catch (e) {
    results.fail('mem.tsnerd', tsLabel, e, 'MiB');
  } finally {
    for (let i = 0; i < names.length; i += 25) await env.tsnerd(['rm', '-f', ...names.slice(i, i + 25)], { timeoutMs: 600_000 });
  }

  const ulimits = await env.podman.ulimitFlags();
  const pnames: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const name = `pm${i}`;
      const r = await env.podman.run([
        'run',
        '-d',
        ...ulimits,
        '--network',
        'bridge',
        '--name',
        name,
        '-p',
        `127.0.0.1:${PODMAN_PORT_BASE + i}:80`,
        'busybox',
        'sleep',
        '3600',
      ]);
      if (r.exitCode !== 0) throw new Error(`container ${i + 1}: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
      pnames.push(name);
      if ((i + 1) % 25 === 0) process.stderr.write(`MEM podman ${i + 1}/${n} containers\n`);
    }
    const procs = await processes(
      (cmd, name) => cmd.includes(env.podman.dir) && ['conmon', 'podman', 'aardvark-dns', 'rootlessport', 'netavark'].includes(name),
    );
    record(results, 'mem.podman', pmLabel, procs);
  } catch (e) {
    results.fail('mem.podman', pmLabel, e, 'MiB');
  } finally {
    for (let i = 0; i < pnames.length; i += 25)
      await env.podman.run(['rm', '-f', '-t', '0', ...pnames.slice(i, i + 25)], { timeoutMs: 600_000 });
  }
}

function record(results: Results, key: string, label: string, procs: ProcMem[]): void {
  const rss = procs.reduce((s, p) => s + p.rssKiB, 0) / 1024;
  const pss = procs.reduce((s, p) => s + p.pssKiB, 0) / 1024;
  const byName = new Map<string, number>();
  for (const p of procs) byName.set(p.name, (byName.get(p.name) ?? 0) + 1);
  const what = [...byName].map(([name, count]) => `${count} × ${name}`).join(', ') || 'no process';
  results.add({ key, label, unit: 'MiB', values: [rss], note: `${what}; PSS ${pss.toFixed(1)} MiB` });
}

/** Every process whose cmdline (NULs as spaces) and comm match. */
async function processes(match: (cmdline: string, name: string) => boolean): Promise<ProcMem[]> {
  const out: ProcMem[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      const name = (await readFile(`/proc/${entry}/comm`, 'utf8')).trim();
      if (!match(cmdline, name)) continue;
      const status = await readFile(`/proc/${entry}/status`, 'utf8');
      const rollup = await readFile(`/proc/${entry}/smaps_rollup`, 'utf8').catch(() => '');
      out.push({
        pid: Number(entry),
        // node's main thread names itself MainThread in comm: the command line tells which process it is
        name: cmdline.includes('reserver/main')
          ? 'port holder (node)'
          : cmdline.includes('hook-server/main')
            ? 'hook server (node)'
            : cmdline.includes('internal cli-server')
              ? 'CLI server (node)'
              : name,
        rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
        pssKiB: Number(/Pss:\s+(\d+)/.exec(rollup)?.[1] ?? 0),
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
