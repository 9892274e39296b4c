/**
 * Starts and stops the overlay agent of one network on this host
 * (src/overlay-agent/main.ts): a detached node process that keeps the subnet
 * lease alive and programs the VXLAN device from an etcd watch. Files in the
 * network's state dir: agent.pid (written by the agent once it holds
 * agent.lock), agent.log. Node built-ins only: the OCI hook loads this.
 */
import { spawn } from 'node:child_process';
import { open, readFile, rm } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TsnerdError, internal } from '../../domain/errors.ts';
import type { OverlayAgents } from '../../interfaces/overlay.ts';

export const AGENT_PID_FILE = 'agent.pid';
export const AGENT_LOG_FILE = 'agent.log';
export const AGENT_LOCK_FILE = 'agent.lock';
const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 5_000;
const SCRIPT_PATTERN = /[/\\]overlay-agent[/\\]main\.[jt]s$/;

// Next to this module's tree, compiled (.js, dist/) or not (.ts, tests).
const SCRIPT = fileURLToPath(new URL(`../../overlay-agent/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Where one overlay network's state, pid, lock and log live on this host. */
export function overlayStateDir(dataRoot: string, namespace: string, name: string): string {
  return join(dataRoot, 'overlay', namespace, name);
}

interface ReadyMessage {
  ok: boolean;
  message?: string;
}

export class ProcessOverlayAgents implements OverlayAgents {
  async ensure(stateDir: string): Promise<void> {
    const dir = resolve(stateDir);
    if ((await agentPid(dir)) !== undefined) return;
    const log = await open(join(dir, AGENT_LOG_FILE), 'a');
    let child;
    try {
      child = spawn(process.execPath, [SCRIPT, dir], {
        detached: true,
        cwd: '/',
        env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
        stdio: ['ignore', log.fd, log.fd, 'pipe'],
      });
    } finally {
      await log.close();
    }
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    const ready = await readReady(child.stdio[3] as Readable, () => child.kill('SIGKILL'));
    if (ready.ok) {
      child.unref();
      return;
    }
    if (spawnError) throw internal(`failed to start the overlay agent: ${spawnError.message}`, { cause: spawnError });
    throw internal(`overlay agent failed: ${ready.message ?? 'exited without a reason'} (see ${join(dir, AGENT_LOG_FILE)})`);
  }

  async stop(stateDir: string): Promise<void> {
    const dir = resolve(stateDir);
    const pid = await agentPid(dir);
    if (pid !== undefined) {
      signal(pid, 'SIGTERM');
      if (!(await exited(pid))) {
        signal(pid, 'SIGKILL');
        if (!(await exited(pid))) throw internal(`overlay agent ${pid} did not exit`);
      }
    }
    await rm(join(dir, AGENT_PID_FILE), { force: true });
  }

  pid(stateDir: string): Promise<number | undefined> {
    return agentPid(resolve(stateDir));
  }
}

/** The pid in the state dir's pid file if /proc shows it is the live agent of that dir. */
export async function agentPid(dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, AGENT_PID_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return SCRIPT_PATTERN.test(argv[1] ?? '') && argv[2] === dir && state !== 'Z' ? pid : undefined;
  } catch {
    return undefined;
  }
}

function readReady(pipe: Readable, kill: () => void): Promise<ReadyMessage> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      kill();
      reject(new TsnerdError('timeout', `overlay agent did not become ready within ${READY_TIMEOUT_MS / 1000}s`));
    }, READY_TIMEOUT_MS);
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => (text += chunk));
    pipe.on('error', () => undefined);
    pipe.on('close', () => {
      clearTimeout(timer);
      try {
        resolvePromise(JSON.parse(text.split('\n')[0] ?? '') as ReadyMessage);
      } catch {
        resolvePromise({ ok: false, message: 'the agent exited before it was ready' });
      }
    });
  });
}

async function exited(pid: number): Promise<boolean> {
  for (let waited = 0; waited < EXIT_TIMEOUT_MS; waited += 20) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return true;
    } catch {
      return true;
    }
    await sleep(20);
  }
  return false;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
