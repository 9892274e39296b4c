/**
 * Wrong host states the widened chaos soak (chaos.test.ts) found, each made deterministic.
 *
 * - A container another one joined (`--net container:<peer>`) that goes while the joiner
 *   runs (`rm -f`, or exits on its own): its netns lives on in the joiner, and the DEL
 *   without a netns released its IP but left its veth on the bridge, with that IP, in the
 *   joiner's namespace. The next container given the IP answered beside it.
 *
 * - `kill -s <signal>` of a container that lives on (HUP to ask a server to reload, TERM to an
 *   init that ignores it): the kill had first detached it as for a stop (DEL, ports released,
 *   hosts and DNS left, `stopped_at` recorded), so it ran on without its network, its port
 *   free for another container and its network removable by `network rm` and `prune`. Docker
 *   keeps a container's network when it survives the signal.
 *
 * - `start` of a container that joined another's network namespace (`--net container:<peer>`)
 *   once that peer had been restarted: the spec still named the peer's old init
 *   (`/proc/<pid>/ns/net`), so the start failed in runc (`lstat ... no such file`), or, had the
 *   pid been reused, joined that other process's network namespace. It now rejoins the peer.
 *
 * - A `stop` killed between its DEL and its signal: the network went first, so the container
 *   ran on without it, its host port free for another container. Now the signal comes first
 *   (the DEL runs in the netns held open past the exit) and the reservation goes last: a stop
 *   killed after the signal is finished by the port holder's watcher of the exited init. The
 *   test holds the hosts store's lock (the step after the DEL) and kills the stop there.
 *
 * Names hs2-*, subnet in 10.253.0.0/16, host ports 48900-48999, env hsoak2.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addressHash } from '../../../src/domain/settings.ts';
import { closeEnv, httpGet, importTestImage, ok as okIn, startEnv, tsnerd, waitFor, type TestEnv } from '../harness.ts';
import { diffHostState, snapshotHostState, type HostState, type HostStateScope } from '../host-state.ts';

const NET = 'hs2-net';
const SUBNET = `10.253.${1 + Math.floor(Math.random() * 200)}.0/24`;
const PORT = 48900 + Math.floor(Math.random() * 90);
const SCOPE: HostStateScope = { networks: [NET], ports: [48900, 48999] };

const TSNERD_BIN = resolve(fileURLToPath(import.meta.url), '../../../../bin/tsnerd');

let env: TestEnv;
const ok = (args: string[]): Promise<string> => okIn(env, args);

describe('wrong states found by the widened chaos soak', { timeout: 300_000 }, () => {
  let baseline: HostState;

  before(async () => {
    env = await startEnv('hsoak2');
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', SUBNET]);
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']); // the bridge: part of the baseline
    baseline = await snapshotHostState(env, SCOPE);
  });

  after(async () => {
    await closeEnv(env, [NET]);
  });

  for (const how of ['rm -f', 'exit'] as const) {
    it(`a joined container that goes (${how}) while its joiner runs leaves no veth or IP on the bridge`, async (t) => {
      t.after(() => tsnerd(env, ['rm', '-f', 'hs2-peer', 'hs2-joiner']));
      const peerCmd = how === 'exit' ? ['sh', '-c', 'sleep 2'] : ['sleep', '600'];
      await ok(['run', '-d', '--name', 'hs2-peer', '--net', NET, '-p', `${PORT}:80`, 'busybox', ...peerCmd]);
      await ok(['run', '-d', '--name', 'hs2-joiner', '--net', 'container:hs2-peer', 'busybox', 'sleep', '600']);
      if (how === 'rm -f') await ok(['rm', '-f', 'hs2-peer']);
      // The joiner still runs; the peer's network must be gone from the host all the same.
      // (The joiner's own records are there, and the peer's when it exited: only its network is compared.)
      const networkOnly = async () =>
        diffHostState(baseline, await snapshotHostState(env, SCOPE)).filter((l) => !/^(data-store|containerd|hosts-lines): /.test(l));
      // The exit is seen by the port holder within 0.2 s, and released 0.5 s later.
      await waitFor('the peer gone from the network', async () => (await networkOnly()).length === 0, 10_000).catch(() => {});
      const differences = await networkOnly();
      assert.deepEqual(differences, [], `host state differs while the joiner runs:\n${differences.join('\n')}`);
      assert.match(await ok(['ps', '--format', '{{.Names}}']), /hs2-joiner/);
      // ...which lost the interface with the peer (as with Docker): only its loopback is left.
      assert.doesNotMatch(await ok(['exec', 'hs2-joiner', 'ip', '-o', 'link']), /eth0/);
    });
  }

  /** The network kinds of the host state (a container's own records are there while it exists). */
  const networkDiff = async (): Promise<string[]> =>
    diffHostState(baseline, await snapshotHostState(env, SCOPE)).filter((l) => !/^(data-store|containerd|hosts-lines): /.test(l));

  it('kill -s HUP (or TERM) of a container that survives it leaves it running with its network and port', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hs2-hup']));
    // busybox httpd reloads on HUP; as the init it ignores TERM.
    const httpd = ['busybox', 'sh', '-c', 'echo hs2 > /tmp/index.html && exec httpd -f -p 80 -h /tmp'];
    await ok(['run', '-d', '--name', 'hs2-hup', '--net', NET, '-p', `${PORT + 1}:80`, ...httpd]);
    assert.equal((await httpGet(`http://127.0.0.1:${PORT + 1}/`)).trim(), 'hs2');
    const attached = await networkDiff();
    for (const signal of ['HUP', 'TERM']) {
      await ok(['kill', '-s', signal, 'hs2-hup']);
      await new Promise((r) => setTimeout(r, 1500)); // what an exit would have released by now
      assert.match(await ok(['ps', '--format', '{{.Names}} {{.Status}}']), /hs2-hup Up/);
      assert.deepEqual(await networkDiff(), attached, `its network after kill -s ${signal}`);
      assert.equal((await httpGet(`http://127.0.0.1:${PORT + 1}/`, 5)).trim(), 'hs2', `its port after kill -s ${signal}`);
      const rm = await tsnerd(env, ['network', 'rm', NET]);
      assert.notEqual(rm.exitCode, 0, `network rm of the network it uses after kill -s ${signal}`);
    }
  });

  it('kill -s TERM of a container that exits on it: its network is released at the exit', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hs2-term']));
    const cmd = ['busybox', 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done'];
    await ok(['run', '-d', '--name', 'hs2-term', '--net', NET, '-p', `${PORT + 2}:80`, ...cmd]);
    await ok(['kill', '-s', 'TERM', 'hs2-term']);
    await waitFor('its network released', async () => (await networkDiff()).length === 0, 10_000).catch(() => {});
    assert.deepEqual(await networkDiff(), []);
    assert.match(await ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']), /hs2-term Exited/);
  });

  it('start of a joiner after its peer restarted joins the peer again (and is refused while the peer is stopped)', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hs2-peer2', 'hs2-joiner2']));
    await ok(['run', '-d', '--name', 'hs2-peer2', '--net', NET, 'busybox', 'sleep', '600']);
    await ok(['run', '-d', '--name', 'hs2-joiner2', '--net', 'container:hs2-peer2', 'busybox', 'sleep', '600']);
    await ok(['stop', '-t', '0', 'hs2-joiner2']);
    await ok(['stop', '-t', '0', 'hs2-peer2']);
    const refused = await tsnerd(env, ['start', 'hs2-joiner2']);
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /container "hs2-peer2" is not running: cannot join its network namespace/);
    await ok(['start', 'hs2-peer2']);
    await ok(['start', 'hs2-joiner2']);
    const netnsOf = (name: string) => ok(['exec', name, 'readlink', '/proc/1/ns/net']);
    assert.equal(await netnsOf('hs2-joiner2'), await netnsOf('hs2-peer2'));
    assert.match(await ok(['exec', 'hs2-joiner2', 'ip', '-o', 'link']), /eth0/);
  });

  it('a stop killed after its DEL leaves a running container with its network, or an exited one without', async (t) => {
    const hostsDir = join(env.dataRoot, addressHash(env.address), 'etchosts', env.namespace);
    const marker = join(env.dir, 'hs2-hosts-locked');
    let holder: ReturnType<typeof spawn> | undefined;
    t.after(async () => {
      holder?.kill('SIGKILL');
      await tsnerd(env, ['rm', '-f', 'hs2-stop']);
    });
    // busybox httpd as the init ignores TERM: the stop ends it with SIGKILL after 1 s.
    const httpd = ['busybox', 'sh', '-c', 'echo hs2 > /tmp/index.html && exec httpd -f -p 80 -h /tmp'];
    await ok(['run', '-d', '--name', 'hs2-stop', '--net', NET, '-p', `${PORT + 3}:80`, ...httpd]);
    const attached = await networkDiff();
    // The hosts store's lock (nerdctl's flock of the directory), which the stop takes after its DEL.
    holder = spawn('flock', ['-o', hostsDir, 'sh', '-c', `touch ${marker}; exec sleep 600`], { stdio: 'ignore' });
    await waitFor('the hosts lock held', () => existsSync(marker), 10_000);
    const stop = spawn(TSNERD_BIN, ['stop', '-t', '1', 'hs2-stop'], { env: { ...process.env, ...env.env }, stdio: 'ignore' });
    const stopped = new Promise((r) => stop.once('close', r));
    await waitFor('the DEL done', async () => !(await networkDiff()).some((l) => l.startsWith('cni-cache')), 20_000);
    await new Promise((r) => setTimeout(r, 300));
    stop.kill('SIGKILL');
    await stopped;
    holder.kill('SIGKILL');
    holder = undefined;
    const status = async () => (await ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).match(/hs2-stop (\w+)/)?.[1];
    if ((await status()) === 'Up') {
      assert.deepEqual(await networkDiff(), attached, 'a running container keeps its network');
    } else {
      await waitFor('its network released', async () => (await networkDiff()).length === 0, 10_000).catch(() => {});
      assert.deepEqual(await networkDiff(), [], 'an exited container holds no network');
    }
  });
});
