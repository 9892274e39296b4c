/**
 * Starts and stops the overlay agent of one network on this host
 * (src/overlay-agent/main.ts): a detached node process that keeps the subnet
 * lease alive and programs the VXLAN device from an etcd watch, run as the
 * child of its supervisor (src/overlay-agent/supervise.pl, perl), which
 * starts it again when it dies (docs/overlay.md, "Supervision"). Files in the
 * network's state dir: agent.pid (written by the agent once it holds
 * agent.lock), supervisor.pid and supervisor.lock, agent.log (both write it).
 * Node built-ins only: the OCI hook loads this.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { internal } from '../../domain/errors.ts';
import type { OverlayAgents } from '../../interfaces/overlay.ts';
import { daemonPid, daemonScript, isDaemon, spawnDaemon, stopDaemon } from '../host/daemon-process.ts';
import { procStatSync } from '../host/proc.ts';
import { AGENT_LOG_FILE, AGENT_PID_FILE, SUPERVISOR_PID_FILE } from '../../overlay-agent/files.ts';

const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;
/** The supervisor gives its agent 5 s after SIGTERM, then SIGKILL: it gets that and some more. */
const SUPERVISOR_EXIT_TIMEOUT_MS = 8_000;
const WHAT = 'the overlay agent';
const SUPERVISOR_SCRIPT = fileURLToPath(new URL('../../overlay-agent/supervise.pl', import.meta.url));
/** perl-base's interpreter (essential on Debian); without it the agent runs unsupervised, as before. */
const PERL_CANDIDATES = ['/usr/bin/perl', '/bin/perl'];

/** Where one overlay network's state, pid, lock and log live on this host. */
export function overlayStateDir(dataRoot: string, namespace: string, name: string): string {
  return join(dataRoot, 'overlay', namespace, name);
}

export class ProcessOverlayAgents implements OverlayAgents {
  private readonly dnsDir: string | undefined;

  /** `dnsDir`: the data store's dns dir, where the agents read the local names and keep the other hosts'. */
  constructor(dnsDir?: string) {
    this.dnsDir = dnsDir === undefined ? undefined : resolve(dnsDir);
  }

  /**
   * Starts the supervisor (and through it the agent) unless both run. A live agent without a
   * supervisor (the supervisor was killed) is adopted by the new supervisor, not restarted.
   */
  async ensure(stateDir: string): Promise<void> {
    const dir = resolve(stateDir);
    const perl = supervisorPerl();
    if ((await agentPid(dir)) !== undefined && (perl === undefined || supervisorPid(dir) !== undefined)) return;
    const ready = await spawnDaemon(daemonScript('overlay-agent'), this.dnsDir === undefined ? [dir] : [dir, this.dnsDir], {
      log: join(dir, AGENT_LOG_FILE),
      readyTimeoutMs: READY_TIMEOUT_MS,
      what: WHAT,
      ...(perl === undefined ? {} : { wrapper: { command: perl, args: [SUPERVISOR_SCRIPT, dir] } }),
    });
    if (!ready.ok) throw internal(`overlay agent failed: ${ready.message ?? 'exited without a reason'} (see ${join(dir, AGENT_LOG_FILE)})`);
  }

  /**
   * The supervisor first (it stops its agent and starts none after), then an agent it did not
   * stop. Again if a supervisor runs after that: one the agent started when it found its own
   * gone (killed) just before this stop's SIGTERM reached it.
   */
  async stop(stateDir: string): Promise<void> {
    const dir = resolve(stateDir);
    for (let pass = 0; pass < 3; pass++) {
      const sup = supervisorPid(dir);
      if (sup !== undefined)
        await stopDaemon(sup, async () => isSupervisor(sup, dir), { timeoutMs: SUPERVISOR_EXIT_TIMEOUT_MS, what: `${WHAT}'s supervisor` });
      const pid = await agentPid(dir);
      if (pid !== undefined) await stopDaemon(pid, () => isDaemon(pid, 'overlay-agent', dir), { timeoutMs: EXIT_TIMEOUT_MS, what: WHAT });
      if (supervisorPid(dir) === undefined && (await agentPid(dir)) === undefined) break;
    }
    await rm(join(dir, AGENT_PID_FILE), { force: true });
    await rm(join(dir, SUPERVISOR_PID_FILE), { force: true });
  }

  pid(stateDir: string): Promise<number | undefined> {
    return agentPid(resolve(stateDir));
  }

  async supervisorPid(stateDir: string): Promise<number | undefined> {
    return supervisorPid(resolve(stateDir));
  }

  /** Whether the agent runs and, where it can be, under its supervisor. */
  async running(stateDir: string): Promise<boolean> {
    const dir = resolve(stateDir);
    return (await agentPid(dir)) !== undefined && (supervisorPerl() === undefined || supervisorPid(dir) !== undefined);
  }
}

/** The pid in the state dir's pid file if /proc shows it is the live agent of that dir. */
export function agentPid(dir: string): Promise<number | undefined> {
  return daemonPid(join(dir, AGENT_PID_FILE), 'overlay-agent', dir);
}

/** The pid in supervisor.pid if /proc shows it is the live supervisor of that dir. */
export function supervisorPid(dir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, SUPERVISOR_PID_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 && isSupervisor(pid, dir) ? pid : undefined;
}

/** True while pid is a live (not zombie) `perl .../supervise.pl <dir> ...`. */
function isSupervisor(pid: number, dir: string): boolean {
  try {
    if (!procStatSync(pid)?.live) return false;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const at = argv.findIndex((a) => /[/\\]overlay-agent[/\\]supervise\.pl$/.test(a));
    return at > 0 && argv[at + 1] === dir;
  } catch {
    return false;
  }
}

let perlPath: string | null | undefined;

/** Whether agents run supervised here (perl and the supervisor script are there). */
export function canSupervise(): boolean {
  return supervisorPerl() !== undefined;
}

/** The perl that runs the supervisor, undefined when there is none (or its script is missing: a build without it). */
function supervisorPerl(): string | undefined {
  if (perlPath === undefined) perlPath = (existsSync(SUPERVISOR_SCRIPT) && PERL_CANDIDATES.find((p) => existsSync(p))) || null;
  return perlPath ?? undefined;
}
