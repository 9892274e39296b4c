/**
 * Starts and stops the overlay agent of one network on this host
 * (src/overlay-agent/main.ts): a detached node process that keeps the subnet
 * lease alive and programs the VXLAN device from an etcd watch. Files in the
 * network's state dir: agent.pid (written by the agent once it holds
 * agent.lock), agent.log. Node built-ins only: the OCI hook loads this.
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { internal } from '../../domain/errors.ts';
import type { OverlayAgents } from '../../interfaces/overlay.ts';
import { daemonPid, daemonScript, isDaemon, spawnDaemon, stopDaemon } from '../host/daemon-process.ts';
import { AGENT_LOG_FILE, AGENT_PID_FILE } from '../../overlay-agent/files.ts';

const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;
const WHAT = 'the overlay agent';

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

  async ensure(stateDir: string): Promise<void> {
    const dir = resolve(stateDir);
    if ((await agentPid(dir)) !== undefined) return;
    const ready = await spawnDaemon(daemonScript('overlay-agent'), this.dnsDir === undefined ? [dir] : [dir, this.dnsDir], {
      log: join(dir, AGENT_LOG_FILE),
      readyTimeoutMs: READY_TIMEOUT_MS,
      what: WHAT,
    });
    if (!ready.ok) throw internal(`overlay agent failed: ${ready.message ?? 'exited without a reason'} (see ${join(dir, AGENT_LOG_FILE)})`);
  }

  async stop(stateDir: string): Promise<void> {
    const dir = resolve(stateDir);
    const pid = await agentPid(dir);
    if (pid !== undefined) await stopDaemon(pid, () => isDaemon(pid, 'overlay-agent', dir), { timeoutMs: EXIT_TIMEOUT_MS, what: WHAT });
    await rm(join(dir, AGENT_PID_FILE), { force: true });
  }

  pid(stateDir: string): Promise<number | undefined> {
    return agentPid(resolve(stateDir));
  }
}

/** The pid in the state dir's pid file if /proc shows it is the live agent of that dir. */
export function agentPid(dir: string): Promise<number | undefined> {
  return daemonPid(join(dir, AGENT_PID_FILE), 'overlay-agent', dir);
}
