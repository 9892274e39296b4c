/**
 * Container lifecycle on --net none (and host). Resources of this file: names t-ctr-*,
 * no networks, subnets or host ports. Every test removes its containers in t.after.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { ctr, importTestImage, lines, removeAfter, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { addressHash } from '../../../src/domain/settings.ts';

describe('containers: lifecycle', { timeout: 600_000 }, () => {
  let env: TestEnv;
  const cleanup = (t: TestContext, containers: string[]) => removeAfter(t, env, { containers });
  const containerIds = async () => lines((await ctr(env, ['containers', 'ls', '-q'])).stdout);
  const taskLines = async () => lines((await ctr(env, ['tasks', 'ls'])).stdout).slice(1);
  const snapshotKeys = async () =>
    lines((await ctr(env, ['snapshots', 'ls'])).stdout)
      .slice(1)
      .map((l) => l.split(/\s+/)[0]);
  const storeDir = (...parts: string[]) => join(env.dataRoot, addressHash(env.address), ...parts);

  before(async () => {
    env = await startEnv('t-containers');
    await importTestImage(env);
  });
  after(async () => {
    await env?.stop();
  });

  it('run --rm prints the output and leaves nothing behind', async () => {
    const r = await tsnerd(env, ['run', '--rm', '--net', 'none', 'busybox', 'echo', 'hello']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'hello');
    assert.deepEqual(await containerIds(), []);
    assert.deepEqual(await taskLines(), []);
  });

  it('run exits with the container exit code', async () => {
    const r = await tsnerd(env, ['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(r.exitCode, 3, r.stderr);
  });

  it('run -i forwards stdin; -e, -w and --entrypoint shape the process', async () => {
    const cat = await tsnerd(env, ['run', '--rm', '-i', '--net', 'none', 'busybox', 'cat'], { input: 'from stdin\n' });
    assert.equal(cat.stdout, 'from stdin');
    const r = await tsnerd(env, [
      'run',
      '--rm',
      '--net',
      'none',
      '-e',
      'FOO=bar',
      '-w',
      '/tmp',
      '--entrypoint',
      'sh',
      'busybox',
      '-c',
      'echo $FOO $(pwd)',
    ]);
    assert.equal(r.stdout, 'bar /tmp', r.stderr);
  });

  it('-u resolves user and group names from the image', async () => {
    const r = await tsnerd(env, ['run', '--rm', '--net', 'none', '-u', 'nobody', 'busybox', 'sh', '-c', 'echo $(id -u) $(id -g)']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^65534 \d+$/);
    const bad = await tsnerd(env, ['run', '--rm', '--net', 'none', '-u', 't-ctr-nouser', 'busybox', 'true']);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /unable to find user "t-ctr-nouser"/);
    assert.deepEqual(await containerIds(), []);
  });

  it('a foreground run passes our SIGTERM to the container', async () => {
    const bin = join(import.meta.dirname, '../../../bin/tsnerd');
    const script = 'trap "exit 7" TERM; echo ready; while true; do sleep 0.1; done';
    const child = execa(bin, ['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', script], { env: env.env, reject: false });
    await Promise.race([new Promise((r) => child.stdout!.once('data', r)), sleep(20_000)]);
    child.kill('SIGTERM');
    const result = await child;
    assert.equal(result.exitCode, 7, String(result.stderr));
    assert.deepEqual(await containerIds(), []);
  });

  it('run -d, ps, exec, logs, stop, rm: nothing left in containerd or the store', async (t) => {
    cleanup(t, ['t-ctr-x']);
    const snapshotsBefore = await snapshotKeys();
    const run = await tsnerd(env, [
      'run',
      '-d',
      '--name',
      't-ctr-x',
      '--net',
      'none',
      'busybox',
      'sh',
      '-c',
      'echo started; exec sleep 1000',
    ]);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout;
    assert.match(id, /^[0-9a-f]{64}$/);

    const ps = await tsnerd(env, ['ps']);
    assert.match(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES/);
    assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)}\\s+docker.io/library/busybox:latest .*Up .*t-ctr-x$`, 'm'));
    assert.deepEqual(lines((await tsnerd(env, ['ps', '--format', '{{.Names}}'])).stdout), ['t-ctr-x']);

    const exec = await tsnerd(env, ['exec', 't-ctr-x', 'echo', 'hi']);
    assert.equal(exec.exitCode, 0, exec.stderr);
    assert.equal(exec.stdout, 'hi');
    assert.equal((await tsnerd(env, ['exec', 't-ctr-x', 'sh', '-c', 'exit 4'])).exitCode, 4);
    assert.equal((await tsnerd(env, ['logs', 't-ctr-x'])).stdout, 'started');

    const [inspected] = JSON.parse((await tsnerd(env, ['inspect', id.slice(0, 8)])).stdout);
    assert.equal(inspected.Id, id);
    assert.equal(inspected.Name, 't-ctr-x');
    assert.equal(inspected.State.Running, true);
    assert.ok(inspected.State.Pid > 0);
    assert.deepEqual(inspected.Args, ['-c', 'echo started; exec sleep 1000']);

    const rmRunning = await tsnerd(env, ['rm', 't-ctr-x']);
    assert.equal(rmRunning.exitCode, 1);
    assert.match(rmRunning.stderr, /you cannot remove a running container/);

    const stop = await tsnerd(env, ['stop', '-t', '2', 't-ctr-x']);
    assert.equal(stop.exitCode, 0, stop.stderr);
    assert.match((await tsnerd(env, ['ps', '-a'])).stdout, /Exited \(\d+\)/);
    assert.equal((await tsnerd(env, ['rm', 't-ctr-x'])).exitCode, 0);

    assert.deepEqual(await containerIds(), []);
    assert.deepEqual(await taskLines(), []);
    assert.deepEqual(await snapshotKeys(), snapshotsBefore);
    // The snapshot's create-time lease (GC protection until the record exists) is gone too.
    assert.doesNotMatch((await ctr(env, ['leases', 'ls'])).stdout, /tsnerd-snapshot-/);
    assert.equal(existsSync(storeDir('containers', env.namespace, id)), false);
    assert.equal(existsSync(storeDir('names', env.namespace, 't-ctr-x')), false);
  });

  it('a taken name fails clearly and makes nothing new', async (t) => {
    cleanup(t, ['t-ctr-dup']);
    const first = await tsnerd(env, ['run', '-d', '--name', 't-ctr-dup', '--net', 'none', 'busybox', 'sleep', '1000']);
    assert.equal(first.exitCode, 0, first.stderr);
    const [ids, snaps] = [await containerIds(), await snapshotKeys()];
    const second = await tsnerd(env, ['run', '-d', '--name', 't-ctr-dup', '--net', 'none', 'busybox', 'sleep', '1000']);
    assert.equal(second.exitCode, 1);
    assert.equal(second.stderr, `tsnerd: name "t-ctr-dup" is already used by ID "${first.stdout}"`);
    assert.deepEqual(await containerIds(), ids);
    assert.deepEqual(await snapshotKeys(), snaps);
    const rm = await tsnerd(env, ['rm', '-f', 't-ctr-dup']);
    assert.equal(rm.exitCode, 0, rm.stderr);
    assert.deepEqual(await containerIds(), []);
  });

  it('an unknown image fails with "no such image" and makes nothing', async () => {
    const snaps = await snapshotKeys();
    const r = await tsnerd(env, ['run', '--rm', '--name', 't-ctr-noimg', 'nosuchimage:1']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, 'tsnerd: no such image: "nosuchimage:1"');
    assert.deepEqual(await containerIds(), []);
    assert.deepEqual(await snapshotKeys(), snaps);
    assert.equal(existsSync(storeDir('names', env.namespace, 't-ctr-noimg')), false);
  });

  it('run/create/start/rm/network ls/network inspect behave the same with and without the oclif-free fast path', async (t) => {
    cleanup(t, ['t-ctr-fast', 't-ctr-fast2']);
    const oclif: TestEnv = { ...env, env: { ...env.env, TSNERD_NO_FAST_PATH: '1' } };
    const cases = [
      ['run', '--rm', '--net', 'none', '-e', 'A=1', 'busybox', 'sh', '-c', 'echo $A; exit 4'],
      ['run', '--rm', '--net=none', '--name', 't-ctr-fast', 'busybox', 'sh', '-c', 'hostname | wc -c'],
      ['rm', 't-ctr-nosuch'],
      ['start', 't-ctr-nosuch'],
      ['run', '--net', 'none', 'nosuchimage:2'],
      ['create', '--bogus', 'busybox'],
      ['run'],
      ['network', 'ls'],
      ['network', 'list', '-q'],
      ['network', 'ls', '--format', '{{.Name}}', '--filter', 'name=^(host|none)$'],
      ['network', 'ls', '-q', '--format', 'json'],
      ['network', 'inspect', 't-ctr-nosuchnet'],
      ['network', 'inspect', '-f', '{{.Name}}', 'host'],
    ];
    for (const args of cases) {
      const [fast, slow] = [await tsnerd(env, args), await tsnerd(oclif, args)];
      assert.deepEqual([fast.exitCode, fast.stdout, fast.stderr], [slow.exitCode, slow.stdout, slow.stderr], args.join(' '));
    }
    const created = await tsnerd(env, ['create', '--net', 'none', '--name', 't-ctr-fast2', 'busybox', 'true']);
    assert.match(created.stdout, /^[0-9a-f]{64}$/, created.stderr);
    assert.equal((await tsnerd(env, ['start', 't-ctr-fast2'])).stdout, 't-ctr-fast2');
    assert.equal((await tsnerd(oclif, ['rm', '-f', 't-ctr-fast2'])).stdout, 't-ctr-fast2');
    assert.deepEqual(await containerIds(), []);
  });

  it('bad flag values exit 2 with one line', async () => {
    for (const args of [
      ['stop', '-t', 'abc', 'x'],
      ['run', '-e', '=x', 'busybox', 'true'],
      ['run', '--net', 'host,bridge', 'busybox', 'true'],
      ['kill', '-s', 'NOPE', 'x'],
    ]) {
      const r = await tsnerd(env, args);
      assert.equal(r.exitCode, 2, args.join(' '));
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /^tsnerd: /);
    }
  });

  it('--net host sees the host interfaces and hostname', async () => {
    const linkNames = (out: string) => lines(out).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
    const before = linkNames((await execa('ip', ['-o', 'link'])).stdout);
    const r = await tsnerd(env, [
      'run',
      '--rm',
      '--net',
      'host',
      'busybox',
      'sh',
      '-c',
      'hostname; readlink /proc/self/ns/net; ip -o link',
    ]);
    const after = linkNames((await execa('ip', ['-o', 'link'])).stdout);
    assert.equal(r.exitCode, 0, r.stderr);
    const [name, netns, ...rest] = lines(r.stdout);
    assert.equal(name, hostname());
    assert.equal(netns, await readlink('/proc/self/ns/net'), "the host's network namespace");
    // Other test runs add and remove links meanwhile: the ones there before and after must all be seen.
    const seen = linkNames(rest.join('\n'));
    for (const link of before.filter((l) => after.includes(l))) assert.ok(seen.includes(link), `${link} missing`);
  });

  it('--net none has only lo', async () => {
    const r = await tsnerd(env, ['run', '--rm', '--net', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), ['lo']);
  });

  it('create then start runs detached; kill stops it', async (t) => {
    cleanup(t, ['t-ctr-cs']);
    const created = await tsnerd(env, ['create', '--name', 't-ctr-cs', '--net', 'none', 'busybox', 'sleep', '1000']);
    assert.equal(created.exitCode, 0, created.stderr);
    // The snapshot's lease is dropped beside the later calls, but before the command returns.
    assert.doesNotMatch((await ctr(env, ['leases', 'ls'])).stdout, /tsnerd-snapshot-/);
    assert.match((await tsnerd(env, ['ps', '-a'])).stdout, /Created\s+t-ctr-cs$/m);
    assert.equal((await tsnerd(env, ['start', 't-ctr-cs'])).exitCode, 0);
    assert.match((await tsnerd(env, ['ps'])).stdout, /Up .*t-ctr-cs$/m);
    assert.equal((await tsnerd(env, ['kill', '-s', 'KILL', 't-ctr-cs'])).exitCode, 0);
    await sleep(500);
    assert.match((await tsnerd(env, ['ps', '-a'])).stdout, /Exited \(137\).*t-ctr-cs$/m);
    assert.equal((await tsnerd(env, ['rm', 't-ctr-cs'])).exitCode, 0);
  });

  it('run -d --rm removes the container once it exits', async (t) => {
    cleanup(t, ['t-ctr-auto']);
    const r = await tsnerd(env, ['run', '-d', '--rm', '--name', 't-ctr-auto', '--net', 'none', 'busybox', 'sleep', '1']);
    assert.equal(r.exitCode, 0, r.stderr);
    for (let i = 0; i < 50 && (await containerIds()).length > 0; i++) await sleep(200);
    assert.deepEqual(await containerIds(), []);
    assert.equal(existsSync(storeDir('names', env.namespace, 't-ctr-auto')), false);
  });
});
