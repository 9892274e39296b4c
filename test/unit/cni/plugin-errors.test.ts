import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { ExecCniRuntime } from '../../../src/adapters/cni/exec-cni-runtime.ts';
import { CniPluginError, decodePluginFailure } from '../../../src/domain/cni/plugin-error.ts';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';
import { fakePlugins, result, type FakePlugins } from './fake-plugins.ts';

const rt = { containerId: 'ctr1', netns: '/var/run/netns/x', ifName: 'eth0' };
const single = (type: string, version = '1.0.0') =>
  parseConfList(JSON.stringify({ cniVersion: version, name: 'net1', plugins: [{ type }] }));

describe('plugin failures', () => {
  let fake: FakePlugins;
  let runtime: ExecCniRuntime;

  before(async () => {
    fake = await fakePlugins();
    // A deadline no plugin start misses on a loaded machine; the deadline test has its own.
    runtime = new ExecCniRuntime({ cniPath: fake.binDir, cacheDir: fake.cacheDir, timeoutMs: 20_000 });
    await fake.write('host-local', {
      ADD: {
        stdout:
          '{"cniVersion":"1.0.0","code":7,"msg":"Invalid Configuration","details":"Network 192.168.0.0/31 too small to allocate from"}',
        stderr: 'some log',
        exitCode: 1,
      },
    });
    await fake.write('stderr-only', { ADD: { stderr: 'failed to open /dev/foo\n', exitCode: 2 } });
    await fake.write('bad-json', { ADD: { stdout: 'panic: oops', exitCode: 1 } });
    await fake.write('silent', { ADD: { exitCode: 3 } });
    await fake.write('bad-result', { ADD: { stdout: '{"cniVersion":"1.0.0","ips":"nope"}' } });
    await fake.write('sleepy', { ADD: { sleepSeconds: 5, stdout: result() } });
    await fake.write('ok', { ADD: { stdout: result() } });
  });
  after(() => fake.cleanup());

  it('decodes error JSON on stdout into a typed plugin error', async () => {
    const err = await runtime.addNetworkList(single('host-local'), rt).catch((e: unknown) => e);
    assert.ok(err instanceof CniPluginError);
    assert.equal(err.kind, 'plugin');
    assert.equal(err.message, 'plugin "host-local" failed (add): Invalid Configuration; Network 192.168.0.0/31 too small to allocate from');
    assert.deepEqual(
      [err.pluginType, err.verb, err.code, err.msg, err.cniDetails],
      ['host-local', 'ADD', 7, 'Invalid Configuration', 'Network 192.168.0.0/31 too small to allocate from'],
    );
  });

  it('uses stderr text when stdout is empty', async () => {
    await assert.rejects(runtime.addNetworkList(single('stderr-only'), rt), {
      name: 'CniPluginError',
      message: 'plugin "stderr-only" failed (add): failed to open /dev/foo; exit status 2',
    });
  });

  it('reports stdout that is not error JSON', async () => {
    await assert.rejects(runtime.addNetworkList(single('bad-json'), rt), {
      kind: 'plugin',
      message: 'plugin "bad-json" failed (add): unreadable error message "panic: oops"; exit status 1',
    });
  });

  it('reports the exit status of a plugin that says nothing', async () => {
    await assert.rejects(runtime.addNetworkList(single('silent'), rt), {
      kind: 'plugin',
      message: 'plugin "silent" failed (add): no error message, exit status 3',
    });
  });

  it('rejects a result that does not match the CNI result schema', async () => {
    await assert.rejects(runtime.addNetworkList(single('bad-result'), rt), {
      kind: 'plugin',
      message: /^plugin "bad-result" failed \(add\): invalid result: invalid CNI 1\.0\.0 result: ips/,
    });
  });

  it('keeps a cache entry with the result so far when a later plugin fails, until DEL', async () => {
    const l = parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'net2', plugins: [{ type: 'ok' }, { type: 'silent' }] }));
    await assert.rejects(runtime.addNetworkList(l, rt), { kind: 'plugin' });
    // Unlike libcni: a rollback (or a reclaim after a crash) finds the ADD's arguments and addresses.
    const [cached] = await runtime.getCachedAttachments('ctr1').then((all) => all.filter((a) => a.networkName === 'net2'));
    assert.ok(cached?.result, "the first plugin's result is cached");
    await runtime.delNetworkList(l, rt).catch(() => undefined);
    assert.ok(!(await readdir(join(fake.cacheDir, 'results')).catch(() => [] as string[])).includes('net2-ctr1-eth0'));
  });

  it('names the plugin type and the dirs searched when a plugin is missing', async () => {
    await assert.rejects(runtime.addNetworkList(single('nosuch'), rt), {
      kind: 'precondition',
      message: `CNI plugin "nosuch" not found in ["${fake.binDir}"]`,
    });
  });

  it('kills a plugin that passes its deadline', async () => {
    const impatient = new ExecCniRuntime({ cniPath: fake.binDir, cacheDir: fake.cacheDir, timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(impatient.addNetworkList(single('sleepy'), rt), {
      kind: 'timeout',
      message: 'plugin "sleepy" timed out after 300ms (add)',
    });
    assert.ok(Date.now() - started < 4000);
  });

  it('decodes an error without cniVersion, as plugins 1.1.1 send on a version mismatch', () => {
    const err = decodePluginFailure({
      pluginType: 'bridge',
      verb: 'ADD',
      stdout: '{"code":1,"msg":"incompatible CNI versions","details":"config is \\"1.1.0\\", plugin supports [\\"1.0.0\\"]"}',
      stderr: '',
      exitCode: 1,
    });
    assert.equal(err.code, 1);
    assert.equal(err.message, 'plugin "bridge" failed (add): incompatible CNI versions; config is "1.1.0", plugin supports ["1.0.0"]');
  });
});
