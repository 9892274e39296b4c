/**
 * The CLI server end to end (docs/architecture.md, "The CLI server"): bin/tsnerd hands
 * `run`, `create`, `start` and `rm` to the perl CLI client, which hands them to one warm
 * node process per data root. The first command of a fresh data root runs in a CLI
 * process and starts the server; the next ones are served, with the same output, exit
 * codes and signals as a CLI process. What the server cannot run where the command was
 * typed (stdin, another data root, another network namespace) runs in a CLI process.
 * A kill -9 of the server mid-command is a CLI killed with -9: reported, and `rm -f`
 * leaves nothing. Real containerd, runc, CNI plugins and iptables.
 *
 * "Served" is observed with the client run by hand in front of a node that cannot run
 * anything (/bin/false): only the server can have answered a command that works.
 * Names cs-*, subnet in 10.250.0.0/16, host ports 48600-48699.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { closeEnv, httpGet, importTestImage, ipOf, ok as okIn, startEnv, tsnerd, waitFor, type TestEnv } from '../harness.ts';
import { snapshotHostState, waitForHostState, type HostState, type HostStateScope } from '../host-state.ts';
import { alive, BUNDLE, CLIENT, liveServer as liveServerOf, served as servedBy, serverPid, servedUntil } from './cli-server-kit.ts';

const NET = 'cs-net';
const SUBNET = `10.250.${1 + Math.floor(Math.random() * 250)}.0/24`;
const P = 48600 + 10 * Math.floor(Math.random() * 10);
const SCOPE: HostStateScope = { networks: [NET], ports: [48600, 48699] };
/** The server exits this long after its last command (the default is 5 s). */
const IDLE_MS = 3000;

let env: TestEnv;
const ok = (args: string[]): Promise<string> => okIn(env, args);
const serverDir = () => join(env.dataRoot, 'cli-server');
const pidOf = (): number | undefined => serverPid(env);
const liveServer = (): Promise<number> => liveServerOf(env);

const served = (args: string[], opts: { prefix?: string[] } = {}) => servedBy(env, args, opts);

const servedUntilUp = (args: string[]) => servedUntil(env, args, 'up');

describe('the CLI server (e2e)', { timeout: 600_000 }, () => {
  let baseline: HostState;

  before(async () => {
    env = await startEnv('cs-cliserver');
    env.env['TSNERD_CLI_SERVER_IDLE_MS'] = String(IDLE_MS);
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', SUBNET]);
    // The network's bridge, in the baseline; by a CLI process, so that no server runs yet.
    env.env['TSNERD_CLI_SERVER'] = '0';
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']);
    delete env.env['TSNERD_CLI_SERVER'];
    baseline = await snapshotHostState(env, SCOPE);
  });
  after(async () => {
    const pid = env ? pidOf() : undefined;
    await closeEnv(env, [NET]);
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('the first command starts the server; the next ones are served with the same output and exit codes', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'cs-web']));
    assert.ok(!existsSync(serverDir()), 'no server yet');
    const first = await tsnerd(env, ['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([first.exitCode, first.stdout, first.stderr], [3, 'out', 'err']);
    const pid = await liveServer();
    const again = await served(['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([again.exitCode, again.stdout, again.stderr], [3, 'out', 'err'], 'served as a CLI process runs it');
    // A detached run with a published port, on a user network: its hooks and the page.
    const id = await served([
      'run',
      '-d',
      '--name',
      'cs-web',
      '--net',
      NET,
      '-p',
      `127.0.0.1:${P}:80`,
      'busybox',
      'httpd',
      '-f',
      '-p',
      '80',
    ]);
    assert.equal(id.exitCode, 0, id.stderr);
    assert.match(id.stdout, /^[0-9a-f]{64}$/);
    await httpGet(`http://127.0.0.1:${P}/`);
    // Failures: the same messages and codes as a CLI process's.
    const taken = await served(['run', '-d', '--name', 'cs-web', 'busybox', 'true']);
    assert.equal(taken.exitCode, 1);
    assert.match(taken.stderr, /^tsnerd: name "cs-web" is already used by ID/);
    const missing = await served(['rm', 'cs-nosuch']);
    assert.deepEqual([missing.exitCode, missing.stderr], [1, 'tsnerd: no such container: "cs-nosuch"']);
    assert.equal(pidOf(), pid, 'one server served them all');
    const rm = await served(['rm', '-f', 'cs-web']);
    assert.deepEqual([rm.exitCode, rm.stdout], [0, 'cs-web']);
    assert.deepEqual(await waitForHostState(env, SCOPE, baseline), []);
  });

  it('commands at once are served at once, each with its own result', async (t) => {
    const names = Array.from({ length: 8 }, (_, i) => `cs-c${i}`);
    t.after(() => tsnerd(env, ['rm', '-f', ...names]));
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']); // a server, whatever ran before
    await liveServer();
    const runs = await Promise.all(names.map((n) => served(['run', '-d', '--name', n, '--net', NET, 'busybox', 'sleep', '600'])));
    for (const r of runs) assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(new Set(runs.map((r) => r.stdout)).size, names.length, 'one ID each');
    // The same name twice at once: one wins, the other fails as a CLI process would.
    const twice = await Promise.all([0, 1].map(() => served(['run', '-d', '--name', 'cs-twice', 'busybox', 'sleep', '600'])));
    t.after(() => tsnerd(env, ['rm', '-f', 'cs-twice']));
    assert.deepEqual(twice.map((r) => r.exitCode).sort(), [0, 1], twice.map((r) => r.stderr).join('\n'));
    const ips = await Promise.all(names.map((n) => ipOf(env, n, NET)));
    assert.equal(new Set(ips).size, names.length, `one address each: ${ips.join(' ')}`);
    // Served or not: the eight ipOf above are CLI processes, and on a loaded machine they can outlast the idle exit.
    const rm = await tsnerd(env, ['rm', '-f', ...names, 'cs-twice']);
    assert.equal(rm.exitCode, 0, rm.stderr);
    assert.deepEqual(await waitForHostState(env, SCOPE, baseline), []);
  });

  it('signals the client gets go to an attached container', async () => {
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    await liveServer();
    const { child, code, seen } = await servedUntilUp([
      'run',
      '--rm',
      '--net',
      'none',
      'busybox',
      'sh',
      '-c',
      'trap "echo got TERM; exit 7" TERM; echo up; while :; do sleep 0.1; done',
    ]);
    child.kill('SIGTERM');
    assert.equal(await code, 7);
    assert.match(seen.out, /got TERM/);
  });

  it('what the server cannot run where it was typed runs in a CLI process', async () => {
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    await liveServer();
    // Each would succeed if served: the fake node's exit 1 shows the client ran it itself.
    const other = await served(['run', '--rm', '--net', 'none', '--data-root', join(env.dir, 'cs-other-root'), 'busybox', 'true']);
    assert.equal(other.exitCode, 1, 'another data root');
    const stdin = await served(['run', '--rm', '-i', '--net', 'none', 'busybox', 'true']);
    assert.equal(stdin.exitCode, 1, 'stdin');
    const netns = await served(['run', '--rm', '--net', 'none', 'busybox', 'true'], { prefix: ['unshare', '-n'] });
    assert.equal(netns.exitCode, 1, 'another network namespace');
    const off = await execa('perl', [CLIENT, BUNDLE, '1', '/bin/false', 'run', '--rm', '--net', 'none', 'busybox', 'true'], {
      env: { ...env.env, TSNERD_CLI_SERVER: '0' },
      reject: false,
    });
    assert.equal(off.exitCode, 1, 'TSNERD_CLI_SERVER=0');
    // And the real CLI does run them.
    assert.equal((await tsnerd(env, ['run', '--rm', '-i', '--net', 'none', 'busybox', 'cat'], { input: 'typed' })).stdout, 'typed');
  });

  it('a server killed with -9 mid-command fails that command; rm -f leaves nothing; the next command starts a server', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'cs-killed']));
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    const pid = await liveServer();
    const { code, seen } = await servedUntilUp([
      'run',
      '--name',
      'cs-killed',
      '--net',
      NET,
      '-p',
      `127.0.0.1:${P + 1}:80`,
      'busybox',
      'sh',
      '-c',
      'echo up; sleep 600',
    ]);
    process.kill(pid, 'SIGKILL');
    assert.equal(await code, 1);
    assert.match(seen.err, /the CLI server ended before the command did/);
    await ok(['rm', '-f', 'cs-killed']);
    assert.deepEqual(await waitForHostState(env, SCOPE, baseline), []);
    // The killed server's socket is stale: the next command runs in a CLI process and starts a new one.
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    const next = await liveServer();
    assert.notEqual(next, pid);
  });

  it('an idle server exits and leaves no file', async () => {
    await ok(['run', '--rm', '--net', 'none', 'busybox', 'true']);
    const pid = await liveServer();
    await waitFor('the server to exit', () => !alive(pid), IDLE_MS + 10_000);
    // The log stays only when it holds more than routine lines (here: the server killed above).
    assert.deepEqual(
      (await readdir(serverDir())).filter((f) => !f.endsWith('.log')),
      [],
    );
  });
});
