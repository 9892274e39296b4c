/**
 * Leaks the chaos soak (chaos.test.ts) found, each made deterministic:
 *
 * - A hook client killed while the hook server runs its createRuntime: runc
 *   fails the start and sends postStop at once, while the server's request is
 *   still attaching. Whatever that request does after its client is gone (ADD,
 *   the hosts files of peers, DNS records, port reservation) must not outlive
 *   the failed start: peers do not list the dead container, and once the peer
 *   is removed the host is as before, without `network gc`. The wrapper of the
 *   last plugin of the chain (tuning) holds the attachment after its real ADD
 *   until the test has killed the client.
 * - A bridge plugin killed between the container's veth and its masquerade
 *   chain (a wrapper runs the real ADD without ipMasq, then kills itself): the
 *   rollback's DEL in the netns fails on the missing chain; the failed run must
 *   still leave no IP, rule or CNI cache entry, without `network gc`.
 * - A `run` (attached) killed while its createRuntime hook attaches, then
 *   containerd killed and restarted before the shim gave up on the task: the
 *   shim waits on the dead CLI's stdio FIFOs, and the restarted containerd does
 *   not list a task it never finished creating, while runc's container lives
 *   on (created, its netns and veth with it). `rm -f`, and `network gc`, must
 *   kill that process and the shim: no veth, IP, rule or process left.
 *
 * - An `rm -f` killed between the deletion of the container's record and the
 *   release of its name (the CLI server killed while it ran the removal of a
 *   client killed before): the name stayed taken by a container nothing listed.
 *   `run --name` and `rm -f` of the name must reclaim it and leave nothing.
 *
 * Names chk-* (hrl-orphan, hsk-rmkilled), subnet in 10.245.0.0/16 (10.245.250-253.0/24), host ports
 * 47450-47499, 48000-48499 and 48700-48799.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  closeEnv,
  importTestImage,
  inspectContainer,
  ok as okIn,
  restartContainerd,
  startEnv,
  tsnerd,
  waitFor,
  holdingTuning,
  processesWhere,
  type TestEnv,
} from '../harness.ts';
import { snapshotHostState, waitForHostState, type HostState, type HostStateScope } from '../host-state.ts';
import { addressHash } from '../../../src/domain/settings.ts';

const NET = 'chk-net';
const SUBNET = `10.245.${250 + Math.floor(Math.random() * 4)}.0/24`;
const PORT = 47450 + Math.floor(Math.random() * 40);
const SCOPE: HostStateScope = { networks: [NET], ports: [47450, 47499] };
const ORPHAN_PORT = 48000 + Math.floor(Math.random() * 400);
const ORPHAN_SCOPE: HostStateScope = { networks: [NET], ports: [48000, 48499] };
/** hsk-* tests: host ports 48700-48799. */
const RM_PORT = 48700 + Math.floor(Math.random() * 100);
const RM_SCOPE: HostStateScope = { networks: [NET], ports: [48700, 48799] };
const TSNERD_BIN = resolve(fileURLToPath(import.meta.url), '../../../../bin/tsnerd');

let env: TestEnv;
let pluginDir: string;

const ok = (args: string[], e: TestEnv = env): Promise<string> => okIn(e, args);

/** Live containerd shims of task `id` (argv `-id <id>`). */
const shimsOf = (id: string) => processesWhere((argv) => /containerd-shim/.test(argv[0] ?? '') && argv.includes(id));

/** The perl hook clients of the env (their argv names the data root). */
const hookClients = () =>
  processesWhere((argv) => argv.some((w) => w.endsWith('hook-client.pl')) && argv.some((w) => w.includes(env.dataRoot)));

describe('leaks found by the chaos soak', { timeout: 300_000 }, () => {
  let baseline: HostState;

  before(async () => {
    env = await startEnv('chk-found');
    env.env['TSNERD_HOOK_SERVER'] = '1';
    await importTestImage(env);
    pluginDir = join(env.dir, 'chk-plugins');
    await mkdir(pluginDir);
    // tuning, the chain's last plugin: its real ADD, then, while `hold` exists, `added` and a wait.
    await holdingTuning(pluginDir, env.cniPath, join(pluginDir, 'added'));
    // bridge: once `cut-bridge` exists, the real ADD without the masquerade chain, then a kill -9 of itself.
    const bridge = [
      '#!/bin/sh',
      `if [ "$CNI_COMMAND" = ADD ] && [ -f ${join(pluginDir, 'cut-bridge')} ]; then`,
      `  rm -f ${join(pluginDir, 'cut-bridge')}`,
      `  sed -E 's/"ipMasq": ?true/"ipMasq":false/' | ${env.cniPath}/bridge >/dev/null`,
      '  kill -9 $$',
      'fi',
      `exec ${env.cniPath}/bridge`,
      '',
    ].join('\n');
    await writeFile(join(pluginDir, 'bridge'), bridge);
    await chmod(join(pluginDir, 'bridge'), 0o755);
    env.env['CNI_PATH'] = `${pluginDir}:${env.cniPath}`;
    await ok(['network', 'create', NET, '--subnet', SUBNET]);
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']); // the bridge: part of the baseline
    baseline = await snapshotHostState(env, SCOPE);
  });

  after(async () => {
    await rm(join(pluginDir ?? '/nonexistent', 'hold'), { force: true });
    await closeEnv(env, [NET]);
  });

  it('a hook client killed after ADD: the run fails, peers never list it, and rm of the peer leaves the host as before (no gc)', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'chk-peer', 'chk-victim']));
    await ok(['run', '-d', '--name', 'chk-peer', '--net', NET, 'busybox', 'sleep', '600']);
    const peerHosts = await ok(['exec', 'chk-peer', 'cat', '/etc/hosts']);
    await writeFile(join(pluginDir, 'hold'), '');
    const run = tsnerd(env, ['run', '-d', '--name', 'chk-victim', '--net', NET, '-p', `${PORT}:80`, 'busybox', 'sleep', '600']);
    await waitFor('the victim ADD done up to tuning', async () => (await readdir(pluginDir)).includes('added'), 60_000, 10);
    const clients = await hookClients();
    assert.equal(clients.length, 1, `one hook client in flight: ${clients.join(', ')}`);
    process.kill(clients[0]!, 'SIGKILL');
    // runc fails the start and sends postStop; give it the time to do so before the ADD goes on.
    await sleep(1500);
    await rm(join(pluginDir, 'hold'));
    const r = await run;
    assert.notEqual(r.exitCode, 0, `the run should fail: ${r.stdout}`);
    // The server's request after its client died: give it the time to finish what it would do.
    await sleep(3000);
    if (process.env['CHK_DEBUG']) console.log(r.stderr);
    const problems: string[] = [];
    const records = await readFile(join(env.dataRoot, addressHash(env.address), 'dns', 'records.json'), 'utf8').catch(() => '');
    if (records.includes('chk-victim')) problems.push('a DNS record of the failed container');
    const hosts = await ok(['exec', 'chk-peer', 'cat', '/etc/hosts']);
    if (hosts !== peerHosts) problems.push(`the peer's hosts file changed:\n${hosts}`);
    assert.deepEqual(problems, []);
    await ok(['rm', '-f', 'chk-peer']);
    assert.deepEqual(await tsnerd(env, ['ps', '-a', '--format', '{{.Names}}']).then((p) => p.stdout.trim()), '');
    const differences = await waitForHostState(env, SCOPE, baseline, 10_000);
    assert.deepEqual(differences, [], `host state differs without gc:\n${differences.join('\n')}`);
  });

  for (const reclaim of ['rm -f', 'network gc'] as const) {
    it(`a run killed while its hook attaches, containerd restarted before the shim gave up: ${reclaim} kills the container runc kept`, async (t) => {
      const before = await snapshotHostState(env, ORPHAN_SCOPE);
      t.after(async () => {
        await rm(join(pluginDir, 'hold'), { force: true });
        await tsnerd(env, ['rm', '-f', 'hrl-orphan']);
      });
      await rm(join(pluginDir, 'added'), { force: true });
      await writeFile(join(pluginDir, 'hold'), '');
      // Attached (stdio FIFOs the shim opens once runc has created the container), as `run --rm` is.
      const args = ['run', '--name', 'hrl-orphan', '--net', NET, '-p', `${ORPHAN_PORT}:80`, 'busybox', 'sleep', '600'];
      // A CLI process (not the CLI server's client: a command the server runs goes on when its client dies).
      const cli = spawn(TSNERD_BIN, args, { env: { ...process.env, ...env.env, TSNERD_CLI_SERVER: '0' }, stdio: 'ignore' });
      const exited = new Promise((r) => cli.once('close', r));
      await waitFor('the ADD done up to tuning', async () => (await readdir(pluginDir)).includes('added'), 60_000, 10);
      const id = (await inspectContainer(env, 'hrl-orphan')).Id;
      const stateDir = join(env.dataRoot, addressHash(env.address), 'containers', env.namespace, id);
      cli.kill('SIGKILL');
      await exited;
      await rm(join(pluginDir, 'hold'));
      // The hook finishes (its lifecycle record names the init), runc has created the container
      // and the shim waits for a reader of the FIFOs: containerd dies now.
      const lifecycle = async () =>
        JSON.parse(await readFile(join(stateDir, 'lifecycle.json'), 'utf8').catch(() => '{}')) as { pid?: number };
      await waitFor('the hook done', async () => (await lifecycle()).pid !== undefined, 30_000, 10);
      const pid = (await lifecycle()).pid!;
      await restartContainerd(env);
      await ok(reclaim === 'rm -f' ? ['rm', '-f', 'hrl-orphan'] : ['network', 'gc']);
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      assert.ok(stat === '' || / [ZX] /.test(stat.slice(stat.lastIndexOf(')'))), `the container's init ${pid} still runs: ${stat}`);
      // ...and its shim, which containerd lost with the task (it would wait on the FIFOs for ever).
      const shims = await waitFor('its shim gone', async () => (await shimsOf(id)).length === 0, 5_000).catch(async () => shimsOf(id));
      assert.ok(shims === true, `the container's shim still runs: ${String(shims)}`);
      if (reclaim === 'network gc') await ok(['rm', '-f', 'hrl-orphan']);
      const differences = await waitForHostState(env, ORPHAN_SCOPE, before, 10_000);
      assert.deepEqual(differences, [], `host state differs:\n${differences.join('\n')}`);
    });
  }

  it('containerd restarted under a served attached run once its process runs: the run fails, the container stays listed and attached, rm -f leaves nothing', async (t) => {
    const before = await snapshotHostState(env, ORPHAN_SCOPE);
    t.after(async () => {
      await rm(join(pluginDir, 'hold'), { force: true });
      await tsnerd(env, ['rm', '-f', 'hrl-served']);
    });
    await rm(join(pluginDir, 'added'), { force: true });
    await writeFile(join(pluginDir, 'hold'), '');
    // Served by the CLI server (no -i, no fault knob): it reads the FIFOs, so the task starts.
    const args = ['run', '--name', 'hrl-served', '--net', NET, '-p', `${ORPHAN_PORT}:80`, 'busybox', 'sh', '-c', 'echo up; sleep 600'];
    const cli = spawn(TSNERD_BIN, args, { env: { ...process.env, ...env.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => cli.once('close', (code) => r(code)));
    await waitFor('the ADD done up to tuning', async () => (await readdir(pluginDir)).includes('added'), 60_000, 10);
    await rm(join(pluginDir, 'hold'));
    await waitFor('the container up', () => out.includes('up'), 30_000);
    await restartContainerd(env);
    assert.notEqual(await exited, 0, 'the run lost its wait for the exit');
    // Its record, name and state stay: it is listed, and rm -f removes all of it.
    const listed = await ok(['ps', '-a', '--format', '{{.Names}}']);
    assert.match(listed, /hrl-served/);
    // ...still on its network, and its name still its own: the rollback used to release the name
    // and remove the state dir (the containerd steps failed while containerd was away).
    assert.match(await ok(['exec', 'hrl-served', 'ip', '-4', 'addr', 'show', 'eth0']), /inet 10\./);
    const again = await tsnerd(env, ['run', '-d', '--name', 'hrl-served', '--net', 'none', 'busybox', 'true']);
    assert.match(again.stderr, /name "hrl-served" is already used/);
    await ok(['rm', '-f', 'hrl-served']);
    const differences = await waitForHostState(env, ORPHAN_SCOPE, before, 10_000);
    assert.deepEqual(differences, [], `host state differs:\n${differences.join('\n')}`);
  });

  it('a bridge plugin killed between the veth and the masquerade chain: the failed run leaves nothing (no gc)', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'chk-cut']));
    await writeFile(join(pluginDir, 'cut-bridge'), '');
    const r = await tsnerd(env, ['run', '-d', '--name', 'chk-cut', '--net', NET, '-p', `${PORT + 1}:80`, 'busybox', 'sleep', '600']);
    assert.notEqual(r.exitCode, 0, `the run should fail: ${r.stdout}`);
    assert.match(r.stderr, /plugin "bridge" failed \(add\).*SIGKILL/);
    const differences = await waitForHostState(env, SCOPE, baseline, 10_000);
    assert.deepEqual(differences, [], `host state differs without gc:\n${differences.join('\n')}`);
  });

  for (const reclaim of ['run --name', 'rm -f'] as const) {
    it(`an rm -f killed once the record is gone (a CLI server killed under it): ${reclaim} of the name reclaims it, nothing left (no gc)`, async (t) => {
      t.after(() => tsnerd(env, ['rm', '-f', 'hsk-rmkilled']));
      const before = await snapshotHostState(env, RM_SCOPE);
      const id = await ok(['run', '-d', '--name', 'hsk-rmkilled', '--net', NET, '-p', `${RM_PORT}:80`, 'busybox', 'sleep', '600']);
      const stateDir = join(env.dataRoot, 'containers', env.namespace, id);
      const killed = await tsnerd({ ...env, env: { ...env.env, TSNERD_FAULT: 'record-removed' } }, ['rm', '-f', 'hsk-rmkilled']);
      assert.notEqual(killed.exitCode, 0, `the fault did not fire: ${killed.stdout}`);
      assert.equal((await ok(['ps', '-a', '--format', '{{.Names}}'])).includes('hsk-rmkilled'), false, 'its record is gone');
      if (reclaim === 'run --name') {
        const again = await tsnerd(env, [
          'run',
          '-d',
          '--name',
          'hsk-rmkilled',
          '--net',
          NET,
          '-p',
          `${RM_PORT}:80`,
          'busybox',
          'sleep',
          '600',
        ]);
        assert.equal(again.exitCode, 0, `the name is free again: ${again.stderr}`);
        await ok(['rm', '-f', 'hsk-rmkilled']);
      } else {
        const rmAgain = await tsnerd(env, ['rm', '-f', 'hsk-rmkilled']);
        assert.equal(rmAgain.exitCode, 0, `rm -f finds what is left: ${rmAgain.stderr}`);
      }
      await assert.rejects(readdir(stateDir), 'its state dir is gone');
      const differences = await waitForHostState(env, RM_SCOPE, before, 10_000);
      assert.deepEqual(differences, [], `host state differs without gc:\n${differences.join('\n')}`);
    });
  }
});
