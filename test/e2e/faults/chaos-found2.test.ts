/**
 * Wrong host states the widened chaos soak (chaos.test.ts) found, each made deterministic.
 *
 * - A container another one joined (`--net container:<peer>`) that goes while the joiner
 *   runs (`rm -f`, or exits on its own): its netns lives on in the joiner, and the DEL
 *   without a netns released its IP but left its veth on the bridge, with that IP, in the
 *   joiner's namespace. The next container given the IP answered beside it.
 *
 * Names hs2-*, subnet in 10.253.0.0/16, host ports 48900-48999, env hsoak2.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeEnv, importTestImage, ok as okIn, startEnv, tsnerd, waitFor, type TestEnv } from '../harness.ts';
import { diffHostState, snapshotHostState, type HostState, type HostStateScope } from '../host-state.ts';

const NET = 'hs2-net';
const SUBNET = `10.253.${1 + Math.floor(Math.random() * 200)}.0/24`;
const PORT = 48900 + Math.floor(Math.random() * 90);
const SCOPE: HostStateScope = { networks: [NET], ports: [48900, 48999] };

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
});
