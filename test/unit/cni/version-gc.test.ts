import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { ExecCniRuntime } from '../../../src/adapters/cni/exec-cni-runtime.ts';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';
import { fakePlugins, result, type FakePlugins } from './fake-plugins.ts';

const version = (supported: string[]) => ({ stdout: JSON.stringify({ cniVersion: supported.at(-1), supportedVersions: supported }) });
const list = (cniVersion: string, types: string[], extra: Record<string, unknown> = {}) =>
  parseConfList(JSON.stringify({ cniVersion, name: 'gcnet', plugins: types.map((type) => ({ type })), ...extra }));

describe('VERSION, GC and STATUS', () => {
  let fake: FakePlugins;

  before(async () => {
    fake = await fakePlugins();
    await fake.write('old', { VERSION: version(['0.3.1', '0.4.0', '1.0.0']), ADD: { stdout: result() } });
    await fake.write('new', { VERSION: version(['1.0.0', '1.1.0']), ADD: { stdout: result({}, '1.1.0') } });
    await fake.write('ancient', { VERSION: { stdout: '{"code":4,"msg":"unknown CNI_COMMAND: VERSION"}', exitCode: 1 } });
    await fake.write('down', { VERSION: version(['1.1.0']), STATUS: { stdout: '{"code":50,"msg":"plugin not available"}', exitCode: 1 } });
  });
  after(() => fake.cleanup());

  const fresh = async () => {
    await rm(join(fake.root, 'rec'), { recursive: true, force: true });
    await mkdir(join(fake.root, 'rec'));
    return new ExecCniRuntime({ cniPath: fake.binDir, cacheDir: fake.cacheDir });
  };

  it('asks VERSION once per plugin and refuses a list version the plugin cannot speak', async () => {
    const runtime = await fresh();
    await runtime.validateNetworkList(list('1.0.0', ['old', 'new']));
    await assert.rejects(runtime.validateNetworkList(list('1.1.0', ['new', 'old'])), {
      kind: 'precondition',
      message: 'plugin "old" does not support config version "1.1.0" (it supports 0.3.1, 0.4.0, 1.0.0)',
    });
    const calls = await fake.calls();
    assert.deepEqual(
      calls.map((c) => `${c.verb} ${c.type}`),
      ['VERSION old', 'VERSION new'],
    );
    assert.deepEqual(calls[0]!.request, { cniVersion: '1.1.0' });
    assert.equal(calls[0]!.env['CNI_NETNS'], 'dummy');
  });

  it('treats a plugin that does not know VERSION as 0.1.0-only', async () => {
    const runtime = await fresh();
    assert.deepEqual(await runtime.getVersionInfo('ancient'), { cniVersion: '0.1.0', supportedVersions: ['0.1.0'] });
  });

  it('does not run VERSION on ADD', async () => {
    const runtime = await fresh();
    await runtime.addNetworkList(list('1.0.0', ['old']), { containerId: 'c0', netns: '/x', ifName: 'eth0' });
    await runtime.delNetworkList(list('1.0.0', ['old']), { containerId: 'c0', netns: '/x', ifName: 'eth0' });
    assert.deepEqual(
      (await fake.calls()).map((c) => c.verb),
      ['ADD', 'DEL'],
    );
  });

  it('GC deletes stale cached attachments and sends the valid ones to 1.1.0 plugins', async () => {
    const runtime = await fresh();
    const l = list('1.1.0', ['new']);
    await runtime.addNetworkList(l, { containerId: 'keep', netns: '/x', ifName: 'eth0' });
    await runtime.addNetworkList(l, { containerId: 'stale', netns: '/y', ifName: 'eth0' });
    await runtime.gcNetworkList(l, [{ containerId: 'keep', ifName: 'eth0' }]);
    const calls = (await fake.calls()).filter((c) => c.verb !== 'VERSION');
    assert.deepEqual(
      calls.map((c) => `${c.verb} ${c.env['CNI_CONTAINERID']}`),
      ['ADD keep', 'ADD stale', 'DEL stale', 'GC '],
    );
    assert.equal(calls[2]!.env['CNI_NETNS'], '/y');
    assert.deepEqual(calls[3]!.request!['cni.dev/valid-attachments'], [{ containerID: 'keep', ifname: 'eth0' }]);
    assert.deepEqual(await readdir(join(fake.cacheDir, 'results')), ['gcnet-keep-eth0']);
    await runtime.delNetworkList(l, { containerId: 'keep', netns: '/x', ifName: 'eth0' });
  });

  it('GC is a no-op with disableGC, and runs no GC verb below 1.1.0', async () => {
    const runtime = await fresh();
    await runtime.addNetworkList(list('1.0.0', ['old']), { containerId: 'gone', netns: '/x', ifName: 'eth0' });
    await runtime.gcNetworkList(list('1.0.0', ['old'], { disableGC: true }), []);
    await runtime.gcNetworkList(list('1.0.0', ['old']), []);
    assert.deepEqual(
      (await fake.calls()).map((c) => c.verb),
      ['ADD', 'DEL'],
    );
  });

  it('STATUS stops at the first unavailable plugin and is a no-op below 1.1.0', async () => {
    const runtime = await fresh();
    await runtime.statusNetworkList(list('1.0.0', ['down']));
    await assert.rejects(runtime.statusNetworkList(list('1.1.0', ['down', 'new'])), { name: 'CniPluginError', code: 50 });
    assert.deepEqual(
      (await fake.calls()).map((c) => `${c.verb} ${c.type}`),
      ['VERSION down', 'STATUS down'],
    );
  });
});
