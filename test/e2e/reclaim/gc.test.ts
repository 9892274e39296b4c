/**
 * A simulated reboot (containerd, shims and containers killed, containerd's
 * task state gone), then `rm -f` and `network gc`: the host returns to its
 * baseline exactly, the same name and host port work again, gc --dry-run
 * changes nothing and a second gc finds nothing. Network gc-r in
 * 10.211.2.0/24, host ports 39110-39119. The first attachment after
 * a reboot releases the dead tasks' attachments itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from '../harness.ts';
import { httpGet, importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { diffHostState, snapshotHostState, waitForHostState, type HostStateScope } from '../host-state.ts';
import { simulateReboot } from '../reboot.ts';

const NET = 'gc-r';
const PORT = 39110;
const scope: HostStateScope = { networks: [NET], ports: [39110, 39119] };
const httpd = (body: string) => ['busybox', 'sh', '-c', `echo ${body} > /tmp/index.html && exec httpd -f -p 80 -h /tmp`];

const get = async (port: number) => (await httpGet(`http://127.0.0.1:${port}/`)).trim();

describe('network gc after a simulated reboot', { timeout: 300_000 }, () => {
  let env: TestEnv;
  const ok = (args: string[]) => h.ok(env, args);
  before(async () => {
    env = await startEnv('gc-reboot');
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', '10.211.2.0/24']);
    // The bridge is created by the first attachment and stays: part of the baseline.
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']);
  });
  after(async () => {
    if (!env) return;
    await tsnerd(env, ['network', 'rm', NET]); // and its bridge, which the harness would report as left behind
    await env.stop();
  });

  it('rm -f of a task-less container and gc restore the baseline; name and port work again', async () => {
    const baseline = await snapshotHostState(env, scope);
    await ok(['run', '-d', '--name', 'gc-r-a', '--net', NET, '-p', `127.0.0.1:${PORT}:80`, ...httpd('one')]);
    await ok(['run', '-d', '--name', 'gc-r-b', '--net', NET, '-p', `127.0.0.1:${PORT + 1}:80`, 'busybox', 'sleep', '600']);
    assert.equal(await get(PORT), 'one');

    await simulateReboot(env);
    const ps = await ok(['ps', '-a', '--format', '{{.Names}}']);
    assert.match(ps, /gc-r-a/);

    // rm -f of a container without a task releases its attachment (no postStop will come).
    await ok(['rm', '-f', 'gc-r-a']);
    const afterRm = await snapshotHostState(env, scope);
    assert.equal(afterRm['cni-cache'].length, 1, `rm -f left its cache entry: ${afterRm['cni-cache'].join(' ')}`);
    assert.equal(afterRm['host-local'].length, 1, `rm -f left its IP: ${afterRm['host-local'].join(' ')}`);
    assert.ok(!afterRm['iptables-rules'].some((r) => r.includes(`${PORT}`)), `rm -f left the DNAT for ${PORT}`);

    const dry = await snapshotHostState(env, scope);
    const listed = await ok(['network', 'gc', '--dry-run']);
    assert.match(listed, /cni-attachment/);
    assert.deepEqual(diffHostState(dry, await snapshotHostState(env, scope)), [], 'gc --dry-run changed the host');

    const released = await ok(['network', 'gc', '--format', 'json']);
    const kinds = released
      .split('\n')
      .filter((l) => l)
      .map((l) => (JSON.parse(l) as { Kind: string }).Kind);
    assert.ok(kinds.includes('cni-attachment'), released);
    await h.secondGcFindsNothing(env);

    await ok(['rm', '-f', 'gc-r-b']);
    assert.deepEqual(await waitForHostState(env, scope, baseline), []);

    await ok(['run', '-d', '--name', 'gc-r-a', '--net', NET, '-p', `127.0.0.1:${PORT}:80`, ...httpd('two')]);
    assert.equal(await get(PORT), 'two');
    await ok(['rm', '-f', 'gc-r-a']);
    assert.deepEqual(await waitForHostState(env, scope, baseline), []);
  });

  it('the first attachment after a reboot releases what the dead tasks held, before its own ADD', async () => {
    const baseline = await snapshotHostState(env, scope);
    await ok(['run', '-d', '--name', 'gc-r-c', '--net', NET, '-p', `127.0.0.1:${PORT + 2}:80`, 'busybox', 'sleep', '600']);
    await ok(['run', '-d', '--name', 'gc-r-d', '--net', NET, 'busybox', 'sleep', '600']);
    await simulateReboot(env);
    const id = await ok(['run', '-d', '--name', 'gc-r-e', '--net', NET, '-p', `127.0.0.1:${PORT + 2}:80`, ...httpd('three')]);
    assert.equal(await get(PORT + 2), 'three');
    const state = await snapshotHostState(env, scope);
    assert.deepEqual(
      state['cni-cache'].map((f) => f.includes(id)),
      [true],
      `stale cache entries stayed: ${state['cni-cache'].join(' ')}`,
    );
    assert.equal(state['host-local'].length, 1, `stale IPs stayed: ${state['host-local'].join(' ')}`);
    await ok(['rm', '-f', 'gc-r-c', 'gc-r-d', 'gc-r-e']);
    assert.equal(await ok(['network', 'gc']), '');
    assert.deepEqual(await waitForHostState(env, scope, baseline), []);
  });
});
