/**
 * Other tools' containers: one made with `ctr` (no labels) is listed,
 * stopped, killed and removed without tsnerd touching any networking; one
 * with nerdctl's labels, attached by "another runtime" (the CNI plugins run
 * the way libcni runs them, on a netns of its own), pins its network against
 * `network rm` and `prune`, is left alone by `network gc`, and is detached by
 * `stop` as nerdctl's stop would. A network whose only attachment is stale
 * (its netns gone) is released, then removed. Networks gc-f (10.211.3.0/24)
 * and gc-f2 (10.211.4.0/24); netns gc-f-nerd and gc-f-gone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ctr, importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { snapshotHostState, waitForHostState, type HostStateScope } from '../host-state.ts';
import { ExecCniRuntime } from '../../../src/adapters/cni/exec-cni-runtime.ts';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';

const NET = 'gc-f';
const NET2 = 'gc-f2';
const scope: HostStateScope = { networks: [NET, NET2] };

describe('containers of other tools', { timeout: 300_000 }, () => {
  let env: TestEnv;
  let image: string;
  const ok = async (args: string[]) => {
    const r = await tsnerd(env, args);
    assert.equal(r.exitCode, 0, `tsnerd ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const ctrOk = async (args: string[]) => {
    const r = await ctr(env, args, { timeoutMs: 60_000 });
    assert.equal(r.exitCode, 0, `ctr ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  /** ADD as another runtime would, on a named netns; the result cache entry is libcni's format. */
  const attachByHand = async (network: string, netnsName: string, cniId: string) => {
    await execa('ip', ['netns', 'add', netnsName]);
    const file = (
      await execa('sh', [
        '-c',
        `ls ${env.netconfPath}/*/nerdctl-${network}.conflist ${env.netconfPath}/nerdctl-${network}.conflist 2>/dev/null | head -1`,
      ])
    ).stdout.trim();
    const list = parseConfList(await readFile(file, 'utf8'), file);
    const cni = new ExecCniRuntime({ cniPath: env.cniPath, onStderr: () => undefined });
    await cni.addNetworkList(list, {
      containerId: cniId,
      netns: `/var/run/netns/${netnsName}`,
      ifName: 'eth0',
      args: [['IgnoreUnknown', '1']],
    });
  };
  before(async () => {
    env = await startEnv('gc-foreign');
    image = await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', '10.211.3.0/24']);
  });
  after(async () => {
    for (const ns of ['gc-f-nerd', 'gc-f-gone']) await execa('ip', ['netns', 'del', ns], { reject: false });
    await env.stop();
  });

  it('a ctr container is listed, stopped, killed and removed; no network is created or touched', async () => {
    const baseline = await snapshotHostState(env, scope);
    await ctrOk(['run', '-d', image, 'gc-f-ctr', 'sleep', '600']);
    assert.match(await ok(['ps', '--format', '{{.ID}}']), /gc-f-ctr/);
    await ok(['kill', '--signal', 'SIGCONT', 'gc-f-ctr']);
    await ok(['stop', '-t', '1', 'gc-f-ctr']);
    assert.match(await ok(['ps', '-a', '--format', '{{.ID}} {{.Status}}']), /gc-f-ctr Exited/);
    await ok(['start', 'gc-f-ctr']);
    await ok(['rm', '-f', 'gc-f-ctr']);
    assert.equal((await ctr(env, ['containers', 'ls', '-q'])).stdout.trim(), '');
    assert.ok(!existsSync(join(env.netconfPath, 'nerdctl-bridge.conflist')), 'the default network was created for a ctr container');
    assert.deepEqual(await waitForHostState(env, scope, baseline), []);
  });

  it("a nerdctl container's attachment pins its network, survives gc, and goes with its stop", async () => {
    await ctrOk([
      'run',
      '-d',
      '--label',
      `nerdctl/networks=["${NET}"]`,
      '--label',
      'nerdctl/name=gc-f-nerd',
      image,
      'gc-f-nerd',
      'sleep',
      '600',
    ]);
    const cniId = `${env.namespace}-gc-f-nerd`;
    await attachByHand(NET, 'gc-f-nerd', cniId);
    const attached = await snapshotHostState(env, scope);
    assert.equal(attached['cni-cache'].length, 1);

    const rm = await tsnerd(env, ['network', 'rm', NET]);
    assert.equal(rm.exitCode, 1, rm.stdout);
    assert.match(rm.stderr, /is in use by container/);
    await ok(['network', 'prune', '-f']);
    assert.match(await ok(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`^${NET}$`, 'm'));
    assert.equal(await ok(['network', 'gc']), '');
    assert.deepEqual(await waitForHostState(env, scope, attached), [], 'gc touched a live nerdctl container');
    assert.match(await ok(['ps', '--format', '{{.Names}}']), /gc-f-nerd/);

    await ok(['stop', '-t', '1', 'gc-f-nerd']);
    const stopped = await snapshotHostState(env, scope);
    assert.deepEqual(
      [stopped['cni-cache'], stopped['host-local'], stopped['iptables-rules']],
      [[], [], []],
      'stop did not detach it as nerdctl would',
    );
    await ok(['rm', 'gc-f-nerd']);
    await ok(['network', 'rm', NET]);
  });

  it('a network whose only attachment is stale is released, then removed', async () => {
    await ok(['network', 'create', NET2, '--subnet', '10.211.4.0/24']);
    await attachByHand(NET2, 'gc-f-gone', `${env.namespace}-${'f'.repeat(64)}`);
    await execa('ip', ['netns', 'del', 'gc-f-gone']);
    await ok(['network', 'rm', NET2]);
    const after = await snapshotHostState(env, { networks: [NET2] });
    assert.deepEqual([after['cni-cache'], after['host-local'], after['iptables-rules']], [[], [], []]);
    assert.deepEqual(after.bridges, [], 'the bridge of the removed network stayed');
  });
});
