/**
 * A simulated host reboot for one e2e env: containerd, its shims and the
 * containers' processes are killed (so their netns and veths go), runc's and
 * containerd's state (tasks) are deleted, and containerd is started again on
 * the same root: containers and snapshots survive, tasks do not. Processes
 * that are not the env's (tsnerd's port reservers among them) are left alone.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { ctr, startContainerd, type TestEnv } from './harness.ts';

const RUNC_ROOT = '/run/containerd/runc';

export async function simulateReboot(env: TestEnv): Promise<void> {
  const tasks = await ctr(env, ['tasks', 'ls']);
  const pids = tasks.stdout
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[1]))
    .filter((p) => Number.isInteger(p) && p > 0);
  // containerd and the shims carry the env dir in their command line
  for (const pid of [...(await pidsMentioning(env.dir)), ...pids]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await waitGone(pids);
  // A reboot wipes /run: runc's state goes without `runc delete`, which would run the postStop hooks.
  const root = join(RUNC_ROOT, env.namespace);
  for (const id of await readdir(root).catch(() => [] as string[])) {
    const stateJson = await readFile(join(root, id, 'state.json'), 'utf8').catch(() => '');
    if (stateJson.includes(`${env.dir}/`)) await rm(join(root, id), { recursive: true, force: true });
  }
  const state = join(env.dir, 'state');
  await unmountUnder(state);
  await rm(state, { recursive: true, force: true });
  await startContainerd(env);
}

async function pidsMentioning(text: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) out.push(pid);
  }
  return out;
}

async function waitGone(pids: readonly number[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (pids.every((p) => !existsSync(`/proc/${p}`))) return;
    await sleep(50);
  }
}

async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const points = mountinfo
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await execa('umount', ['-l', p], { reject: false });
}
