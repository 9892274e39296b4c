/**
 * The creation claim: `creating` in a new container's state dir, written before
 * anything else of the container exists and removed once containerd holds its
 * record. It names the creating process by pid, start time (/proc/<pid>/stat
 * field 22) and boot id, so that a recycled pid or a reboot does not look like
 * the owner still at work. A claim whose owner is gone is the trace of a
 * `create`/`run` killed before the container existed: its name, state dir,
 * hosts file and snapshot may be reclaimed (app/containers/reclaim-creation.ts).
 *
 * One line, `<pid> <start time> <boot id> <name>` (names have no spaces).
 *
 * In the CLI server the process lives on after the command: when a request ends, a claim it
 * wrote that is still there (its clean-up failed partway) is marked ended, `0 - - <name>`, as
 * the exit of a CLI process would have ended it. Otherwise the name stayed "being created"
 * until the server's idle exit.
 */
import { readFileSync, renameSync, unlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CreationClaim } from '../../interfaces/container-host.ts';
import { bootId, liveStartTime, procStatSync } from './proc.ts';
import { onRequestEnd } from './request-env.ts';
import { writeFileNamed } from '../store/write-file.ts';

export const CREATION_CLAIM_FILE = 'creating';

/**
 * Written with O_EXCL: a state dir is claimed once. finalDir: where the claim will be when
 * the request ends (a staging dir is renamed into place). Here and below synchronous: a `run`'s
 * few small files each cost a thread-pool round trip and a loop turn per open, write and
 * close otherwise (docs/performance.md).
 */
export async function writeCreationClaim(stateDir: string, name: string, finalDir = stateDir): Promise<void> {
  const line = claimLine(name);
  writeFileNamed(join(stateDir, CREATION_CLAIM_FILE), line, { flag: 'wx', mode: 0o600 });
  onRequestEnd(() => endClaim(finalDir, line));
}

/** This process as a claim's owner: pid, start time (a reused pid is not it), boot and the name. */
function claimLine(name: string): string {
  return `${process.pid} ${procStatSync(process.pid)?.startTime ?? '?'} ${bootId()} ${name}\n`;
}

/** A removal's claim (ContainerHost.claimRemoval): this process's, whoever claimed before; none without a state dir. */
export async function writeRemovalClaim(stateDir: string, name: string): Promise<void> {
  const line = claimLine(name);
  try {
    writeFileNamed(join(stateDir, CREATION_CLAIM_FILE), line, { mode: 0o600 });
    onRequestEnd(() => endClaim(stateDir, line));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
}

/**
 * A served request's claim at its end: still this line (no one claimed after us: our owner was
 * alive until now), it becomes an ended owner's; renamed into place, never half written.
 */
function endClaim(stateDir: string, line: string): void {
  const path = join(stateDir, CREATION_CLAIM_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return; // removed: committed or cleaned up
  }
  if (text !== line) return;
  const name = line.trimEnd().split(' ').at(-1) ?? '';
  // A full disk: the claim stays this process's, abandoned to a later reclaim once the server has exited.
  writeFileNamed(`${path}.ended`, `0 - - ${name}\n`, { mode: 0o600, removeOnFailure: true });
  renameSync(`${path}.ended`, path);
}

export async function removeCreationClaim(stateDir: string): Promise<void> {
  try {
    unlinkSync(join(stateDir, CREATION_CLAIM_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Undefined without a claim (a committed container, or no state dir). */
export async function readCreationClaim(stateDir: string): Promise<CreationClaim | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, CREATION_CLAIM_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  const [pidText = '', start = '', boot = '', name = ''] = text.trim().split(' ');
  const pid = Number(pidText);
  // A claim that does not parse was cut short by a crash while it was written: its owner is gone.
  if (!Number.isInteger(pid) || pid <= 0) return { name, ownerAlive: false };
  const liveStart = await liveStartTime(pid);
  return { name, ownerAlive: boot === bootId() && liveStart !== undefined && liveStart === start };
}

/**
 * The claim of a state dir, or of a staging dir (`.<id>.<pid>.<random>`,
 * LinuxContainerHost.createStateDir) before its claim is written: its maker is
 * the pid in its name.
 */
export async function readStateDirClaim(dir: string): Promise<CreationClaim | undefined> {
  const claim = await readCreationClaim(dir);
  if (claim) return claim;
  const pid = /^\.[^/]+\.(\d+)\.[^.]+$/.exec(basename(dir))?.[1];
  if (pid === undefined) return undefined;
  return { name: '', ownerAlive: (await liveStartTime(Number(pid))) !== undefined };
}
