/**
 * Attached runs served by one CLI server wait for their shims without holding threads of
 * libuv's pool (docs/architecture.md, "The CLI server"): their stdio FIFOs are opened
 * non-blocking and read on the event loop. Before, each such run held two pool threads in
 * blocking opens until its shim opened the other ends (after the createRuntime hook), and the
 * server's pool of 64 let 32 runs at once in their hooks stall every other request.
 *
 * The server now runs with node's default pool of four threads.
 * 40 attached runs (80 FIFO opens, more than the old pool of 64) are held in their hook (a
 * wrapper of the chain's last plugin, tuning, waits while a hold file exists); a request served
 * beside them must complete meanwhile; once released, each run prints its own output on
 * stdout and stderr and exits 0. Outputs of 8 MiB and none arrive whole; `| head -1` exits 0;
 * a run that fails while its container goes on writing leaves no FIFO descriptor in the server.
 *
 * "Served" as in cli-server.test.ts: the client run by hand in front of a node that cannot
 * run anything (/bin/false). Names hf-*, subnet in 10.252.0.0/16, no host ports.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ok as okIn, restartContainerd, tsnerd, waitFor, type TestEnv } from '../harness.ts';
import {
  alive,
  BUNDLE,
  CLIENT,
  closeHeldEnv,
  liveServer as liveServerOf,
  served as servedBy,
  serverPid,
  servedUntil,
  startHeldEnv,
} from './cli-server-kit.ts';

const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
const TSNERD = join(REPO, 'bin/tsnerd');

const NET = 'hf-net';
const SUBNET = `10.252.${1 + Math.floor(Math.random() * 250)}.0/24`;
/** More than the old pool of 64 threads could wait for: two FIFO opens each. */
const RUNS = 40;

let env: TestEnv;
let pluginDir: string;
const ok = (args: string[]): Promise<string> => okIn(env, args);
const pidOf = (): number | undefined => serverPid(env);
const liveServer = (): Promise<number> => liveServerOf(env);

const served = (args: string[]) => servedBy(env, args);

/** The server's descriptors of stdio FIFOs (`…/io/stdout`, ` (deleted)` once removed). */
const fifoFds = (pid: number) =>
  readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((link) => /\/io\/std(out|err)/.test(link));

const held = async () => (await readdir(pluginDir)).filter((f) => f.startsWith('added.')).length;

describe('attached runs served at once wait for their shims off the thread pool (e2e)', { timeout: 600_000 }, () => {
  before(async () => {
    ({ env, pluginDir } = await startHeldEnv('hfifo', { idleMs: 5000, net: NET, subnet: SUBNET, pollSeconds: 0.5 }));
  });
  after(() => closeHeldEnv(env, pluginDir, NET));

  it(`${RUNS} attached runs held in their hooks: a request beside them is served meanwhile; each prints its output and exits 0`, async (t) => {
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']); // starts the server
    const server = await liveServer();
    await writeFile(join(pluginDir, 'hold'), '');
    t.after(() => rm(join(pluginDir, 'hold'), { force: true }));
    const names = Array.from({ length: RUNS }, (_, i) => `hf-run-${i}`);
    t.after(() => tsnerd(env, ['rm', '-f', ...names.filter((_, i) => i % 2 === 1)]));
    // Half with --rm, half kept (removed above); stdout and stderr each with a line of its own.
    const runs = names.map((name, i) =>
      served([
        'run',
        ...(i % 2 === 0 ? ['--rm'] : []),
        '--name',
        name,
        '--net',
        NET,
        'busybox',
        'sh',
        '-c',
        `echo out-${i}; echo err-${i} >&2; exit 0`,
      ]),
    );
    try {
      await waitFor(`${RUNS} runs in their hooks`, async () => (await held()) === RUNS, 240_000);
    } catch (err) {
      throw new Error(`only ${await held()} of ${RUNS} runs reached their hook: ${(err as Error).message}`);
    }
    // Beside them: a command that fails at once, and an attached run without a hook.
    const t0 = Date.now();
    const beside = Promise.all([served(['rm', '-f', 'hf-nosuch']), served(['run', '--rm', '--net', 'none', 'busybox', 'echo', 'beside'])]);
    const inTime = await Promise.race([beside.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 30_000).unref())]);
    const ms = Date.now() - t0;
    const threads = /Threads:\s+(\d+)/.exec(readFileSync(`/proc/${server}/status`, 'utf8'))?.[1];
    t.diagnostic(`served beside ${RUNS} held runs in ${ms} ms (the server has ${threads} threads)`);
    assert.equal(await held(), RUNS, 'the runs were still held meanwhile');
    await rm(join(pluginDir, 'hold'));
    const [rmNoSuch, besideRun] = await beside;
    assert.ok(inTime, `served beside the held runs: only once they went on, after ${ms} ms`);
    assert.deepEqual([rmNoSuch.exitCode, rmNoSuch.stderr], [1, 'tsnerd: no such container: "hf-nosuch"']);
    assert.deepEqual([besideRun.exitCode, besideRun.stdout], [0, 'beside'], besideRun.stderr);
    const results = await Promise.all(runs);
    results.forEach((r, i) => assert.deepEqual([r.exitCode, r.stdout, r.stderr], [0, `out-${i}`, `err-${i}`], `run ${i}`));
    assert.equal(pidOf(), server, 'all served by the one server');
    // The kept ones exited 0, as ps shows them.
    const kept = await ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
    for (const name of names.filter((_, i) => i % 2 === 1)) assert.match(kept, new RegExp(`^${name} Exited \\(0\\)`, 'm'));
    for (const name of names.filter((_, i) => i % 2 === 0)) assert.doesNotMatch(kept, new RegExp(`^${name} `, 'm'));
  });

  it('8 MiB of output and none come through whole, served and in a CLI process; `run … | head -1` exits 0', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hf-head-cli', 'hf-head-served']));
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    await liveServer();
    const big = ['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', 'head -c 8388608 /dev/urandom > /d; md5sum < /d >&2; cat /d'];
    const none = ['run', '--rm', '--net', 'none', 'busybox', 'true'];
    const inCli = (args: string[]) =>
      execa(TSNERD, args, { env: { ...env.env, TSNERD_CLI_SERVER: '0' }, reject: false, stdin: 'ignore', encoding: 'buffer' });
    const viaServer = (args: string[]) =>
      execa('perl', [CLIENT, BUNDLE, '1', '/bin/false', ...args], { env: env.env, reject: false, stdin: 'ignore', encoding: 'buffer' });
    for (const [how, exec] of [
      ['in a CLI process', inCli],
      ['served', viaServer],
    ] as const) {
      const r = await exec(big);
      const sum = Buffer.from(r.stderr).toString().trim().split(/\s+/)[0];
      assert.equal(r.exitCode, 0, `${how}: ${Buffer.from(r.stderr).toString()}`);
      assert.deepEqual([r.stdout.length, createHash('md5').update(r.stdout).digest('hex')], [8388608, sum], how);
      const empty = await exec(none);
      assert.deepEqual([empty.exitCode, empty.stdout.length, empty.stderr.length], [0, 0, 0], how);
    }
    // The reader goes after the first line: the command exits 0 (EPIPE), as Docker's CLI does.
    for (const [name, cliServer] of [
      ['hf-head-cli', '0'],
      ['hf-head-served', '1'],
    ]) {
      const r = await execa(
        'bash',
        ['-c', `set -o pipefail; "${TSNERD}" run --rm --name ${name} --net none busybox seq 1 200000 | head -1`],
        {
          env: { ...env.env, TSNERD_CLI_SERVER: cliServer },
          reject: false,
          stdin: 'ignore',
        },
      );
      assert.deepEqual([r.exitCode, r.stdout], [0, '1'], `${name}: ${r.stderr}`);
    }
  });

  it('a run that fails while its container lives on (containerd restarted) leaves no FIFO descriptor in the server', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hf-ticking']));
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    const server = await liveServer();
    const args = ['run', '--name', 'hf-ticking', '--net', 'none', 'busybox', 'sh', '-c', 'while :; do echo tick; sleep 0.1; done'];
    const { child, code, seen } = await servedUntil(env, args, 'tick');
    assert.equal(fifoFds(server).length, 2, 'reading its stdout and stderr');
    // The run's wait on the task breaks and the command fails; the shim goes on writing ticks.
    await restartContainerd(env);
    assert.equal(await code, 1, `the run fails with containerd gone: ${seen.err}`);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(fifoFds(server), [], 'the ended command closed its FIFOs');
    assert.ok(alive(server), 'the server lives on');
  });
});
