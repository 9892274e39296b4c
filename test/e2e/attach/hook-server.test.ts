/**
 * The hook server end to end (docs/architecture.md, "The hook server"): with
 * TSNERD_HOOK_SERVER=1 the containers' OCI hooks are the perl hook client, which
 * hands each hook to one warm node process per data store. The first hook of a
 * fresh data root runs in a hook process of its own and starts the server; the
 * next ones are served by it. A kill -9 of the server while ADDs are in flight
 * fails those runs and leaves nothing behind; its stale socket is replaced by
 * the next server; a client pointed at another build's socket falls back; the
 * server exits when idle. Real containerd, runc, CNI plugins and iptables.
 * Names hs-*, subnet in 10.240.0.0/16, host ports 45000-45499.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeEnv, ctr, importTestImage, ok as okIn, startEnv, tsnerd, waitFor, type RunResult, type TestEnv } from '../harness.ts';
import { snapshotHostState, waitForHostState, type HostState, type HostStateScope } from '../host-state.ts';
import { addressHash } from '../../../src/domain/settings.ts';

const NET = 'hs-net';
const SUBNET = `10.240.${1 + Math.floor(Math.random() * 250)}.0/24`;
/** This run's ten host ports. */
const P = 45000 + 10 * Math.floor(Math.random() * 45);
const SCOPE: HostStateScope = { networks: [NET], ports: [45000, 45499] };
const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
const BUILD_ID = () => readFileSync(join(REPO, 'dist/hook-server/build-id'), 'utf8').trim();
/** The server exits this long after its last hook (the default is 5 s). */
const IDLE_MS = 3000;

let env: TestEnv;
let pluginDir: string;

const ok = (args: string[], e: TestEnv = env): Promise<string> => okIn(e, args);
const serverDir = () => join(env.dataRoot, addressHash(env.address), 'hook-server');
const socketPath = () => join(serverDir(), `${BUILD_ID()}.sock`);
const pidOf = async (): Promise<number | undefined> =>
  Number((await readFile(join(serverDir(), `${BUILD_ID()}.pid`), 'utf8').catch(() => '')).trim()) || undefined;
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const liveServer = () =>
  waitFor(
    'a live hook server',
    async () => {
      const pid = await pidOf();
      return pid !== undefined && alive(pid) && pid;
    },
    15_000,
  );
/** A process killed with -9 is gone, reaped: all its threads too, so its lock and socket are closed. */
const reaped = (pid: number) => waitFor(`process ${pid} to be gone`, () => !existsSync(`/proc/${pid}`), 10_000);
const stateDir = (id: string) => join(env.dataRoot, addressHash(env.address), 'containers', env.namespace, id);
const idOf = async (name: string) => (JSON.parse(await ok(['inspect', name])) as { Id: string }[])[0]!.Id;
const hookLog = async (name: string) => readFile(join(stateDir(await idOf(name)), 'oci-hook.createRuntime.log'), 'utf8');
const sleeper = (name: string, port: number) => [
  'run',
  '-d',
  '--name',
  name,
  '--net',
  NET,
  '-p',
  `127.0.0.1:${port}:80`,
  'busybox',
  'sleep',
  '600',
];

describe('the hook server (e2e)', { timeout: 900_000 }, () => {
  let baseline: HostState;

  before(async () => {
    env = await startEnv('hs-hooksrv');
    env.env['TSNERD_HOOK_SERVER'] = '1';
    env.env['TSNERD_HOOK_SERVER_IDLE_MS'] = String(IDLE_MS);
    await importTestImage(env);
    // The bridge plugin, wrapped: it sleeps on ADD while `slow` exists (ADDs held in flight).
    pluginDir = join(env.dir, 'hs-plugins');
    await mkdir(pluginDir);
    const wrapper = [
      '#!/bin/sh',
      `if [ "$CNI_COMMAND" = ADD ] && [ -f ${join(pluginDir, 'slow')} ]; then touch ${join(pluginDir, 'inflight.')}"$CNI_CONTAINERID"; sleep 8; fi`,
      `exec ${env.cniPath}/bridge`,
      '',
    ].join('\n');
    await writeFile(join(pluginDir, 'bridge'), wrapper);
    await chmod(join(pluginDir, 'bridge'), 0o755);
    env.env['CNI_PATH'] = `${pluginDir}:${env.cniPath}`;
    await ok(['network', 'create', NET, '--subnet', SUBNET]);
  });
  after(async () => {
    const pid = env ? await pidOf() : undefined;
    await closeEnv(env, [NET]);
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('a fresh data root: the first hook runs in its own process and starts the server, which serves the next ones', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hs-a', 'hs-b']));
    assert.ok(!existsSync(serverDir()), 'no server dir yet');
    await ok(sleeper('hs-a', P));
    assert.doesNotMatch(await hookLog('hs-a'), /hook server/, 'the first hook ran in a process of its own');
    const info = JSON.parse(await ctr(env, ['-n', env.namespace, 'containers', 'info', await idOf('hs-a')]).then((r) => r.stdout)) as {
      Spec: { hooks: { createRuntime: { path: string; args: string[] }[] } };
    };
    const hook = info.Spec.hooks.createRuntime[0]!;
    assert.equal(hook.path, '/usr/bin/perl');
    assert.equal(hook.args[2], socketPath());
    const pid = await liveServer();
    assert.equal((await stat(socketPath())).mode & 0o777, 0o600);
    await ok(sleeper('hs-b', P + 1));
    assert.match(await hookLog('hs-b'), new RegExp(`createRuntime \\S+ \\(hook server ${pid}\\)`));
    // The data the hook wrote is the same as the hook process's: reachable, in each other's hosts file.
    const hosts = await ok(['exec', 'hs-b', 'cat', '/etc/hosts']);
    assert.match(hosts, /hs-a/);
    await ok(['rm', '-f', 'hs-a', 'hs-b']);
    baseline = await snapshotHostState(env, SCOPE);
  });

  it('kill -9 of the server while ADDs of several containers are in flight: the runs fail, nothing is left, the next run works', async (t) => {
    await ok(sleeper('hs-warm', P + 2)); // a server, warm
    await ok(['rm', '-f', 'hs-warm']);
    const before = await liveServer();
    const state = baseline ?? (await snapshotHostState(env, SCOPE));
    await writeFile(join(pluginDir, 'slow'), '');
    const names = ['hs-k0', 'hs-k1', 'hs-k2'];
    const runs: Promise<RunResult>[] = names.map((n, i) => tsnerd(env, sleeper(n, P + 3 + i), { timeoutMs: 120_000 }));
    try {
      // The bridge is set up: the three ADDs share the CNI lock, each held 8 s in its plugin.
      await waitFor(
        'the ADDs of all three in flight in the server',
        async () => (await readdir(pluginDir)).filter((f) => f.startsWith('inflight.')).length >= names.length,
        60_000,
      );
      process.kill(before, 'SIGKILL');
    } finally {
      await rm(join(pluginDir, 'slow'), { force: true });
    }
    const results = await Promise.all(runs);
    t.after(() => tsnerd(env, ['rm', '-f', ...names, 'hs-after']));
    await reaped(before);
    for (const [i, r] of results.entries()) {
      assert.notEqual(r.exitCode, 0, `run ${names[i]} should fail: ${r.stdout}`);
      assert.match(r.stderr, /hook server ended before it answered \(createRuntime/, `run ${names[i]}: ${r.stderr}`);
      // The hook's own line, not runc's wrapping of it.
      assert.doesNotMatch(r.stderr, /OCI runtime create failed/, `run ${names[i]}: ${r.stderr}`);
      if (process.env['HS_DEBUG']) console.log(`${names[i]}: ${r.stderr}`);
    }
    // The CLI's rollback (postStop, through a hook process and a new server) released everything.
    const differences = await waitForHostState(env, SCOPE, state, 10_000);
    assert.deepEqual(differences, [], `host state differs after the failed runs:\n${differences.join('\n')}`);
    assert.deepEqual((await ok(['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter(Boolean), []);
    await ok(sleeper('hs-after', P + 6));
    const after = await liveServer();
    assert.notEqual(after, before);
    await ok(['rm', '-f', 'hs-after']);
    assert.deepEqual(await waitForHostState(env, SCOPE, state, 10_000), []);
    for (const f of (await readdir(pluginDir)).filter((f) => f.startsWith('inflight.'))) await rm(join(pluginDir, f));
  });

  it('the server killed by its own fault point after ADD and the hosts join: the run fails, its rollback leaves nothing', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hs-peer', 'hs-f']));
    const state = baseline ?? (await snapshotHostState(env, SCOPE));
    await ok(sleeper('hs-peer', P + 7)); // a peer whose hosts file gets the newcomer's line
    const peerHosts = await ok(['exec', 'hs-peer', 'cat', '/etc/hosts']);
    const pid = await liveServer();
    const faulty = { ...env, env: { ...env.env, TSNERD_FAULT: 'hook-joined', TSNERD_HOOK_SERVER_FAULTS: '1' } };
    const r = await tsnerd(faulty, sleeper('hs-f', P + 8));
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /^tsnerd: OCI hook: the hook server ended before it answered \(createRuntime[^\n]*$/);
    await waitFor('the server gone', () => !alive(pid), 5000);
    assert.equal(await ok(['exec', 'hs-peer', 'cat', '/etc/hosts']), peerHosts, "the peer's hosts file is as before");
    await ok(['rm', '-f', 'hs-peer']);
    assert.deepEqual(await waitForHostState(env, SCOPE, state, 10_000), []);
  });

  it('a stale socket (its server killed while idle) is replaced by the next server', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hs-s', 'hs-s2']));
    await ok(sleeper('hs-s', P + 9));
    const first = await liveServer();
    process.kill(first, 'SIGKILL');
    await reaped(first);
    assert.ok((await stat(socketPath())).isSocket(), 'the killed server left its socket');
    await ok(['rm', '-f', 'hs-s']); // postStop: the client finds the stale socket and runs the hook itself
    const second = await liveServer();
    assert.notEqual(second, first);
    await ok(sleeper('hs-s2', P + 9));
    assert.match(await hookLog('hs-s2'), new RegExp(`\\(hook server ${second}\\)`), 'the new server serves on the socket');
  });

  it("a hook pointed at another build's socket runs in its own process and starts that socket's server", async () => {
    const other = join(serverDir(), '000000000000.sock');
    const hookArgv = [process.execPath, join(REPO, 'dist/cli.js'), 'internal', 'oci-hook', 'createRuntime', '--data-root', env.dataRoot];
    const r = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn('/usr/bin/perl', [join(REPO, 'dist/hook-server/hook-client.pl'), other, ...hookArgv], {
        env: { PATH: process.env['PATH'] ?? '', TSNERD_HOOK_SERVER_IDLE_MS: '500' },
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => done({ code, stderr }));
      child.stdin.end('{}');
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tsnerd oci-hook: invalid container id/, 'the hook process answered');
    const pid = await waitFor(
      'the other build socket server',
      async () => Number(await readFile(other.replace(/sock$/, 'pid'), 'utf8').catch(() => '')) || undefined,
      15_000,
    );
    await waitFor('that server to exit when idle', () => !alive(pid) && !existsSync(other), 10_000);
  });

  it('the server exits when idle, removing its socket', async () => {
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']);
    const pid = await liveServer();
    const t0 = Date.now();
    await waitFor('the idle server to exit', () => !alive(pid) && !existsSync(socketPath()), IDLE_MS + 10_000);
    assert.ok(Date.now() - t0 >= IDLE_MS - 1000, 'it waited for its idle time');
  });

  it('a killed server leaves its files to network gc; a clean exit leaves none', async () => {
    const files = async () => (await readdir(serverDir()).catch(() => [] as string[])).filter((f) => f.startsWith(`${BUILD_ID()}.`)).sort();
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']);
    const pid = await liveServer();
    process.kill(pid, 'SIGKILL');
    await reaped(pid);
    const id = BUILD_ID();
    for (const ext of ['lock', 'log', 'sock'])
      assert.ok((await files()).includes(`${id}.${ext}`), `the killed server left its ${ext}: ${await files()}`);
    assert.match(await ok(['network', 'gc']), /hook-server-file/);
    assert.deepEqual(await files(), [], 'network gc removed them');
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']); // its first hook starts a server again
    const next = await liveServer();
    await waitFor('the idle server to exit', () => !alive(next), IDLE_MS + 10_000);
    await waitFor('no file of its left', async () => (await files()).length === 0, 5_000).catch(() => undefined);
    assert.deepEqual(await files(), [], 'a clean exit removes its socket, pid, lock and log');
  });
});
