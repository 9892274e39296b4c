import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ExecCniRuntime } from '../../../src/adapters/cni/exec-cni-runtime.ts';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';
import type { RuntimeConf } from '../../../src/interfaces/cni.ts';
import { fakePlugins, result, type FakePlugins } from './fake-plugins.ts';

const rt: RuntimeConf = {
  containerId: 'ctr1',
  netns: '/var/run/netns/x',
  ifName: 'eth0',
  args: [
    ['IgnoreUnknown', '1'],
    ['FOO', 'BAR'],
  ],
};

function list(version = '1.0.0', extra: Record<string, unknown> = {}) {
  return parseConfList(
    JSON.stringify({
      cniVersion: version,
      name: 'net1',
      plugins: [
        { type: 'first', bridge: 'br0', capabilities: { portMappings: true, mac: false } },
        { type: 'second', nested: { keep: [1, 2] } },
        { type: 'third', capabilities: { mac: true } },
      ],
      ...extra,
    }),
  );
}

describe('ExecCniRuntime chains a conflist', () => {
  let fake: FakePlugins;
  let runtime: ExecCniRuntime;
  const first = result({ ips: [{ address: '10.201.0.2/24', gateway: '10.201.0.1', interface: 0 }] });
  const second = result({ routes: [{ dst: '0.0.0.0/0', gw: '10.201.0.1' }] });
  const third = result({ dns: { nameservers: ['10.201.0.1'] } });

  before(async () => {
    fake = await fakePlugins();
    await fake.write('first', { ADD: { stdout: first } });
    await fake.write('second', { ADD: { stdout: second } });
    await fake.write('third', { ADD: { stdout: third } });
  });
  after(() => fake.cleanup());
  beforeEach(async () => {
    await rm(join(fake.root, 'rec'), { recursive: true, force: true });
    await mkdir(join(fake.root, 'rec'));
    await rm(fake.cacheDir, { recursive: true, force: true });
    runtime = new ExecCniRuntime({ cniPath: `/nonexistent:${fake.binDir}`, cacheDir: fake.cacheDir });
  });

  it('runs ADD in list order, chaining each result as the next prevResult', async () => {
    const res = await runtime.addNetworkList(list(), rt);
    const calls = await fake.calls();
    assert.deepEqual(
      calls.map((c) => `${c.verb} ${c.type}`),
      ['ADD first', 'ADD second', 'ADD third'],
    );
    assert.equal(calls[0]!.request!['prevResult'], undefined);
    assert.deepEqual(calls[1]!.request!['prevResult'], JSON.parse(first));
    assert.deepEqual(calls[2]!.request!['prevResult'], JSON.parse(second));
    assert.deepEqual(res.dns, { nameservers: ['10.201.0.1'] });
    assert.deepEqual(calls[1]!.request, {
      type: 'second',
      nested: { keep: [1, 2] },
      name: 'net1',
      cniVersion: '1.0.0',
      prevResult: JSON.parse(first),
    });
  });

  it("lets shortcut do a plugin's ADD and DEL: the plugin is not run and the previous result passes through; false runs it", async () => {
    const asked: string[] = [];
    const shortcut = (done: boolean) =>
      new ExecCniRuntime({
        cniPath: fake.binDir,
        cacheDir: fake.cacheDir,
        shortcut: async (plugin, verb) => {
          asked.push(`${verb} ${plugin.type}`);
          return done && plugin.type === 'second';
        },
      });
    const res = await shortcut(true).addNetworkList(list(), rt);
    assert.deepEqual(
      (await fake.calls()).map((c) => `${c.verb} ${c.type}`),
      ['ADD first', 'ADD third'],
    );
    assert.deepEqual((await fake.calls())[1]!.request!['prevResult'], JSON.parse(first), "the third plugin gets the first's result");
    assert.deepEqual(res.dns, { nameservers: ['10.201.0.1'] });
    assert.deepEqual(asked, ['ADD second', 'ADD third'], 'not asked without a previous result (the first plugin)');
    await rm(join(fake.root, 'rec'), { recursive: true, force: true });
    await mkdir(join(fake.root, 'rec'));
    await shortcut(true).delNetworkList(list(), rt);
    assert.deepEqual(
      (await fake.calls()).map((c) => `${c.verb} ${c.type}`),
      ['DEL third', 'DEL first'],
    );
    await rm(join(fake.root, 'rec'), { recursive: true, force: true });
    await mkdir(join(fake.root, 'rec'));
    await shortcut(false).addNetworkList(list(), rt);
    assert.deepEqual(
      (await fake.calls()).map((c) => `${c.verb} ${c.type}`),
      ['ADD first', 'ADD second', 'ADD third'],
    );
  });

  it('sets all six CNI_* variables, CNI_ARGS joined with ";"', async () => {
    await runtime.addNetworkList(list(), rt);
    const [call] = await fake.calls();
    assert.deepEqual(call!.env, {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr1',
      CNI_NETNS: '/var/run/netns/x',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;FOO=BAR',
      CNI_PATH: `/nonexistent:${fake.binDir}`,
    });
  });

  it('writes the libcni cache entry after a successful ADD', async () => {
    const l = list();
    const added = await runtime.addNetworkList(l, {
      ...rt,
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    });
    const entry = JSON.parse(await readFile(join(fake.cacheDir, 'results', 'net1-ctr1-eth0'), 'utf8'));
    assert.equal(entry.kind, 'cniCacheV1');
    assert.equal(Buffer.from(entry.config, 'base64').toString(), l.bytes);
    assert.deepEqual(entry.cniArgs, [
      ['IgnoreUnknown', '1'],
      ['FOO', 'BAR'],
    ]);
    assert.deepEqual(entry.capabilityArgs, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    assert.deepEqual(entry.result, JSON.parse(third));
    const cached = await runtime.getCachedResult(l, rt);
    assert.deepEqual(cached, added);
    assert.deepEqual(cached?.dns, { nameservers: ['10.201.0.1'] });
    const attachments = await runtime.getCachedAttachments('ctr1');
    assert.deepEqual(
      attachments.map((a) => [a.networkName, a.containerId, a.ifName, a.config === l.bytes]),
      [['net1', 'ctr1', 'eth0', true]],
    );
  });

  it('passes runtimeConfig only with the capabilities a plugin declares true', async () => {
    await runtime.addNetworkList(list(), {
      ...rt,
      capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1 } },
    });
    const calls = await fake.calls();
    assert.deepEqual(calls[0]!.request!['runtimeConfig'], { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    assert.equal('runtimeConfig' in calls[1]!.request!, false);
    // third declares mac, which the runtime did not supply.
    assert.equal('runtimeConfig' in calls[2]!.request!, false);
  });

  it('reports each plugin call with its verb and duration to onPluginDone, in order', async () => {
    const done: string[] = [];
    const timed = new ExecCniRuntime({
      cniPath: fake.binDir,
      cacheDir: fake.cacheDir,
      onPluginDone: (type, verb, ms) => {
        assert.ok(ms >= 0 && Number.isFinite(ms), `duration ${ms}`);
        done.push(`${verb} ${type}`);
      },
    });
    await timed.addNetworkList(list(), rt);
    await timed.delNetworkList(list(), rt);
    assert.deepEqual(done, ['ADD first', 'ADD second', 'ADD third', 'DEL third', 'DEL second', 'DEL first']);
  });

  it('runs DEL in reverse order, each with the cached result as prevResult, then drops the cache', async () => {
    const l = list();
    await runtime.addNetworkList(l, { ...rt, capabilityArgs: { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'udp' }] } });
    await runtime.delNetworkList(l, { containerId: 'ctr1', netns: '/var/run/netns/x', ifName: 'eth0' });
    const dels = (await fake.calls()).filter((c) => c.verb === 'DEL');
    assert.deepEqual(
      dels.map((c) => c.type),
      ['third', 'second', 'first'],
    );
    for (const c of dels) assert.deepEqual(c.request!['prevResult'], JSON.parse(third));
    // The ADD's capability args and CNI_ARGS are replayed from the cache.
    assert.deepEqual(dels[2]!.request!['runtimeConfig'], { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'udp' }] });
    assert.equal(dels[2]!.env['CNI_ARGS'], 'IgnoreUnknown=1;FOO=BAR');
    assert.deepEqual(await readdir(join(fake.cacheDir, 'results')), []);
    assert.equal(await runtime.getCachedResult(l, rt), undefined);
  });

  it('repeats DEL without a cache entry and without prevResult', async () => {
    await runtime.delNetworkList(list(), rt);
    const calls = await fake.calls();
    assert.deepEqual(
      calls.map((c) => `${c.verb} ${c.type}`),
      ['DEL third', 'DEL second', 'DEL first'],
    );
    assert.equal('prevResult' in calls[0]!.request!, false);
  });

  it('tolerates an unreadable cache entry on DEL and removes it', async () => {
    const l = list();
    await runtime.addNetworkList(l, rt);
    await writeFile(join(fake.cacheDir, 'results', 'net1-ctr1-eth0'), '{not json');
    await runtime.delNetworkList(l, rt);
    const dels = (await fake.calls()).filter((c) => c.verb === 'DEL');
    assert.equal(dels.length, 3);
    assert.equal('prevResult' in dels[0]!.request!, false);
    assert.deepEqual(await readdir(join(fake.cacheDir, 'results')), []);
  });

  it('sends no prevResult on DEL for lists older than 0.4.0', async () => {
    const l = list('0.3.1');
    await runtime.addNetworkList(l, rt);
    await runtime.delNetworkList(l, rt);
    const dels = (await fake.calls()).filter((c) => c.verb === 'DEL');
    assert.ok(dels.every((c) => !('prevResult' in c.request!)));
  });

  it('converts the cached result to the list version for DEL', async () => {
    const l = list('0.4.0');
    await runtime.addNetworkList(l, rt);
    await runtime.delNetworkList(l, rt);
    const del = (await fake.calls()).find((c) => c.verb === 'DEL')!;
    const prev = del.request!['prevResult'] as { cniVersion: string; ips: Array<{ version: string }> };
    assert.equal(prev.cniVersion, '0.4.0');
    assert.equal(prev.ips[0]!.version, '4');
  });

  it('runs CHECK in order with the cached result, and not at all with disableCheck', async () => {
    const l = list();
    await runtime.addNetworkList(l, rt);
    await runtime.checkNetworkList(l, rt);
    const checks = (await fake.calls()).filter((c) => c.verb === 'CHECK');
    assert.deepEqual(
      checks.map((c) => c.type),
      ['first', 'second', 'third'],
    );
    assert.deepEqual(checks[0]!.request!['prevResult'], JSON.parse(third));
    const disabled = list('1.0.0', { disableCheck: 'True' });
    await runtime.checkNetworkList(disabled, rt);
    assert.equal((await fake.calls()).filter((c) => c.verb === 'CHECK').length, 3);
    await assert.rejects(runtime.checkNetworkList(list('0.3.1'), rt), /configuration version "0.3.1" does not support the CHECK command/);
  });

  it('keeps concurrent attachments of one container apart', async () => {
    const l = list();
    await Promise.all(['eth0', 'eth1', 'eth2'].map((ifName) => runtime.addNetworkList(l, { ...rt, ifName })));
    assert.deepEqual((await readdir(join(fake.cacheDir, 'results'))).sort(), ['net1-ctr1-eth0', 'net1-ctr1-eth1', 'net1-ctr1-eth2']);
    assert.equal((await fake.calls()).length, 9);
  });

  it('rejects a bad attachment before running any plugin', async () => {
    for (const ifName of ['', 'a'.repeat(16), '.', '..', 'a/b', 'a:b', 'a b']) {
      await assert.rejects(runtime.addNetworkList(list(), { ...rt, ifName }), { kind: 'invalid' });
    }
    await assert.rejects(runtime.addNetworkList(list(), { ...rt, containerId: '-bad' }), { kind: 'invalid' });
    await assert.rejects(runtime.addNetworkList(list(), { ...rt, args: [['K', 'a;b']] }), { kind: 'invalid' });
    assert.deepEqual(await fake.calls(), []);
  });
});
