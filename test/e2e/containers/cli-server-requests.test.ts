/**
 * The CLI server runs each request as the client's own CLI process would
 * (docs/architecture.md, "The CLI server"): what a served command starts
 * carries the client's environment, not the server's (which is its starter's PATH
 * and little else), and its containers get the client's open files limit, not the
 * server's.
 *
 * "Served" is observed as in cli-server.test.ts: the client run by hand in front
 * of a node that cannot run anything (/bin/false).
 * Attached runs held in their createRuntime hook (a wrapper of the chain's last plugin, tuning,
 * waits while a hold file exists) keep the FIFO opens of their stdio waiting for the shim: the
 * commands served beside them must not wait for those (the thread pool).
 * Names hsk-*, subnet in 10.251.0.0/16, host ports 48700-48799 (none here).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ok as okIn, processesWhere, restartContainerd, tsnerd, waitFor, type TestEnv } from '../harness.ts';
import {
  alive,
  BUNDLE,
  CLIENT,
  closeHeldEnv,
  liveServer as liveServerOf,
  served as servedBy,
  serverPid,
  startHeldEnv,
} from './cli-server-kit.ts';

const NET = 'hsk-net';
const SUBNET = `10.251.${1 + Math.floor(Math.random() * 250)}.0/24`;

let env: TestEnv;
let pluginDir: string;
const ok = (args: string[]): Promise<string> => okIn(env, args);
const pidOf = (): number | undefined => serverPid(env);
const liveServer = (): Promise<number> => liveServerOf(env);

const served = (args: string[], extraEnv: Record<string, string> = {}, prefix: string[] = []) => servedBy(env, args, { extraEnv, prefix });

/** Live processes whose argv has all of `words`. */
const processesWith = (words: string[]) => processesWhere((argv) => words.every((w) => argv.includes(w)));

describe('the CLI server runs requests as the client would (e2e)', { timeout: 300_000 }, () => {
  before(async () => {
    ({ env, pluginDir } = await startHeldEnv('hsk-cliserver', { idleMs: 3000, net: NET, subnet: SUBNET }));
  });
  after(() => closeHeldEnv(env, pluginDir, NET));

  it("run -d --rm: the reaper it starts has the client's environment", async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hsk-reaped']));
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']); // starts the server
    await liveServer();
    const mark = `hsk-${process.pid}-${Date.now()}`;
    const run = await served(['run', '-d', '--rm', '--name', 'hsk-reaped', '--net', 'none', 'busybox', 'sleep', '600'], { HSK_MARK: mark });
    assert.equal(run.exitCode, 0, `served: ${run.stderr}`);
    const id = run.stdout.trim();
    const [reaper] = await waitFor(
      'the auto-remove process',
      async () => {
        const pids = await processesWith(['auto-remove', id]);
        return pids.length > 0 ? pids : false;
      },
      15_000,
    );
    const environ = (await readFile(`/proc/${reaper}/environ`, 'utf8')).split('\0');
    assert.ok(environ.includes(`HSK_MARK=${mark}`), `the reaper's environment is the client's: ${environ.join(' ')}`);
    // And it reaps: the container goes once its process ends.
    await ok(['stop', '-t', '1', 'hsk-reaped']);
    await waitFor('the container removed', async () => !(await ok(['ps', '-a', '--format', '{{.Names}}'])).includes('hsk-reaped'), 30_000);
  });

  it("a served run's container gets the client's open files limit, as a CLI process's would", async () => {
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    const server = await liveServer();
    const serverHard = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync(`/proc/${server}/limits`, 'utf8'))![1];
    const limit = serverHard === '777' ? '779' : '777';
    const run = await served(['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', 'ulimit -Hn'], {}, [
      'prlimit',
      `--nofile=${limit}:${limit}`,
    ]);
    assert.deepEqual([run.exitCode, run.stdout.trim()], [0, limit], `served: ${run.stderr}`);
  });

  it('an attached run whose container outlives the command (containerd restarted under it) does not take the server down', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hsk-ticking']));
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    const server = await liveServer();
    const child = spawn(
      'perl',
      [
        CLIENT,
        BUNDLE,
        '1',
        '/bin/false',
        'run',
        '--name',
        'hsk-ticking',
        '--net',
        'none',
        'busybox',
        'sh',
        '-c',
        'while :; do echo tick; sleep 0.1; done',
      ],
      {
        env: env.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const seen = { out: '', err: '' };
    child.stdout.on('data', (d: Buffer) => (seen.out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (seen.err += d.toString()));
    const code = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    await waitFor('the container to tick', () => seen.out.includes('tick'), 30_000);
    // The run's wait on the task breaks: the command fails, while its task lives on in its shim
    // and goes on writing to the FIFOs the command read.
    await restartContainerd(env);
    assert.equal(await code, 1, `the run fails with containerd gone: ${seen.err}`);
    await new Promise((r) => setTimeout(r, 1500)); // ticks after the command's end
    assert.ok(alive(server), `the server lives on: ${seen.err}`);
    const next = await served(['run', '--rm', '--net', 'none', 'busybox', 'echo', 'next']);
    assert.deepEqual([next.exitCode, next.stdout.trim()], [0, 'next'], next.stderr);
    assert.equal(pidOf(), server, 'served by the same server');
  });

  it('attached runs waiting in their hook do not hold up the commands served beside them', async (t) => {
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    await liveServer();
    await writeFile(join(pluginDir, 'hold'), '');
    t.after(() => rm(join(pluginDir, 'hold'), { force: true }));
    // Each holds two FIFO opens (stdout, stderr) until its shim opens the other ends, after the
    // hook: two of them, the four threads of node's default pool.
    const held = [0, 1].map(() => served(['run', '--rm', '--net', NET, 'busybox', 'echo', 'done']));
    await waitFor(
      'two runs in their hook',
      async () => (await readdir(pluginDir)).filter((f) => f.startsWith('added.')).length === 2,
      30_000,
    );
    const t0 = Date.now();
    const beside = served(['rm', '-f', 'hsk-nosuch']);
    const inTime = await Promise.race([beside.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 8_000))]);
    const ms = Date.now() - t0;
    await rm(join(pluginDir, 'hold'));
    const r = await beside;
    assert.ok(inTime, `served beside the held runs: only once they went on, after ${ms} ms`);
    assert.deepEqual([r.exitCode, r.stderr], [1, 'tsnerd: no such container: "hsk-nosuch"']);
    for (const h of await Promise.all(held)) assert.deepEqual([h.exitCode, h.stdout], [0, 'done'], h.stderr);
  });
});
