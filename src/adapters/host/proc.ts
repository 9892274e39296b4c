/**
 * What /proc says of a process and of the host: one reading of
 * /proc/<pid>/stat (state, parent, start time), whether a pid exists, when
 * the host booted and the boot's ID; and signalling a process, waiting for it to go.
 * Node built-ins only: the hook, the port holder and the other lean processes load it.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcStat {
  /** One letter: R, S, D, Z (zombie), X (dead)... */
  state: string;
  ppid: number;
  /** Clock ticks after boot (field 22): with the pid, names one process across pid reuse. */
  startTime: string;
  /** Neither a zombie nor dead. */
  live: boolean;
}

/** Fields after the command name in parentheses, which may hold spaces and parentheses itself. */
export function parseProcStat(text: string): ProcStat | undefined {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid] = fields;
  const startTime = fields[19];
  if (!state || ppid === undefined || startTime === undefined) return undefined;
  return { state, ppid: Number(ppid), startTime, live: !['Z', 'X', 'x'].includes(state) };
}

/** /proc/<pid>/stat, undefined once the pid is gone. */
export async function procStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseProcStat(text);
}

export function procStatSync(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The start time of a live (not zombie) process; undefined once it is gone. */
export async function liveStartTime(pid: number): Promise<string | undefined> {
  const s = await procStat(pid);
  return s?.live ? s.startTime : undefined;
}

/** Whether `pid` is a live (not zombie) process that started at `startTime`: the same process, across pid reuse. */
export async function isProcess(pid: number, startTime: string): Promise<boolean> {
  return (await liveStartTime(pid)) === startTime;
}

/**
 * SIGKILLs `pid` if it is still the process that started at `startTime`, then waits (2 s at
 * most) until it has exited: its namespaces go then (a netns with its veths), before it is
 * reaped. False when no such process was left.
 */
export async function killProcess(pid: number, startTime: string): Promise<boolean> {
  if (!(await isProcess(pid, startTime))) return false;
  signalIfAlive(pid, 'SIGKILL');
  await waitUntilGone(() => isProcess(pid, startTime), 2000);
  return true;
}

/** Sends sig to pid; a pid already gone is no error. */
export function signalIfAlive(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Polls until stillThere is false; false if it still is after timeoutMs. */
export async function waitUntilGone(stillThere: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (let waited = 0; waited < timeoutMs; waited += 20) {
    if (!(await stillThere())) return true;
    await sleep(20);
  }
  return false;
}

/**
 * The containerd shims (runtime v2) of task `id` in `namespace` of the containerd at `address`:
 * their argv names all three (`-namespace <ns> -id <id> -address <socket>`).
 */
export async function shimPids(address: string, namespace: string, id: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const flag = (name: string) => argv[argv.indexOf(name) + 1];
    if (!/containerd-shim/.test(argv[0] ?? '') || argv.indexOf('-id') < 0) continue;
    if (flag('-namespace') === namespace && flag('-id') === id && flag('-address') === address) pids.push(Number(entry));
  }
  return pids;
}

/**
 * The containers whose `run -d --rm` reaper (`tsnerd internal auto-remove <id> ...`) is alive:
 * the IDs its argv names after `auto-remove`, in one pass over the processes.
 */
export async function reapers(): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const at = argv.indexOf('auto-remove');
    if (at > 0 && argv[at - 1] === 'internal' && argv[at + 1]) ids.add(argv[at + 1]!);
  }
  return ids;
}

/** Whether the pid exists (a zombie included); another user's process counts. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When the host booted (ms since the epoch), from /proc/stat's btime; 0 if unknown. */
export async function hostBootTime(): Promise<number> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  return Number(/^btime (\d+)$/m.exec(text)?.[1] ?? 0) * 1000;
}

/** This boot's ID (/proc/sys/kernel/random/boot_id), '' if unreadable. Synchronous: a 37-byte read. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}
