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
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CreationClaim } from '../../interfaces/container-host.ts';
import { bootId, liveStartTime, procStatSync } from './proc.ts';

export const CREATION_CLAIM_FILE = 'creating';

/**
 * Written with O_EXCL: a state dir is claimed once. Here and below synchronous: a `run`'s
 * few small files each cost a thread-pool round trip and a loop turn per open, write and
 * close otherwise (docs/performance.md).
 */
export async function writeCreationClaim(stateDir: string, name: string): Promise<void> {
  writeFileSync(join(stateDir, CREATION_CLAIM_FILE), claimLine(name), { flag: 'wx', mode: 0o600 });
}

/** This process as a claim's owner: pid, start time (a reused pid is not it), boot and the name. */
function claimLine(name: string): string {
  return `${process.pid} ${procStatSync(process.pid)?.startTime ?? '?'} ${bootId()} ${name}\n`;
}

/** A removal's claim (ContainerHost.claimRemoval): this process's, whoever claimed before; none without a state dir. */
export async function writeRemovalClaim(stateDir: string, name: string): Promise<void> {
  try {
    writeFileSync(join(stateDir, CREATION_CLAIM_FILE), claimLine(name), { mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
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
