import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { formatCniArgs } from '../../../src/domain/cni/cni-args.ts';
import { convertRawResult, parseResult, resultToVersion, type CniResult } from '../../../src/domain/cni/result.ts';
import { compareVersions, parseVersion } from '../../../src/domain/cni/version.ts';
import { decodeVersionInfo, supportsVersion } from '../../../src/domain/cni/version-info.ts';

const model: CniResult = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'tcni0', mac: '02:00:00:00:00:01' },
    { name: 'eth0', mac: '02:00:00:00:00:02', mtu: 1500, sandbox: '/var/run/netns/x' },
  ],
  ips: [
    { address: '10.201.0.2/24', gateway: '10.201.0.1', interface: 1 },
    { address: 'fd00::2/64', gateway: 'fd00::1', interface: 1 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.201.0.1' }, { dst: '::/0' }],
  dns: { nameservers: ['10.201.0.1'] },
};

describe('result version conversion', () => {
  it('reads 0.3.x and 0.4.0 results, dropping ips[].version', () => {
    for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
      const raw = resultToVersion(model, v);
      assert.equal((raw['ips'] as Array<{ version: string }>)[1]!.version, '6');
      assert.deepEqual(parseResult(raw, '1.0.0'), {
        ...model,
        interfaces: [
          { name: 'tcni0', mac: '02:00:00:00:00:01' },
          { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/x' },
        ],
      });
    }
  });

  it('reads 0.1.0/0.2.0 results into ips and routes', () => {
    const raw = { cniVersion: '0.2.0', ip4: { ip: '10.201.0.2/24', gateway: '10.201.0.1', routes: [{ dst: '0.0.0.0/0' }] }, dns: {} };
    assert.deepEqual(parseResult(raw, '0.2.0'), {
      cniVersion: '1.0.0',
      interfaces: [],
      ips: [{ address: '10.201.0.2/24', gateway: '10.201.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    });
  });

  it('writes 0.2.0 with the first address of each family and routes split by family', () => {
    assert.deepEqual(resultToVersion(model, '0.2.0'), {
      cniVersion: '0.2.0',
      ip4: { ip: '10.201.0.2/24', gateway: '10.201.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.201.0.1' }] },
      ip6: { ip: 'fd00::2/64', gateway: 'fd00::1', routes: [{ dst: '::/0' }] },
      dns: { nameservers: ['10.201.0.1'] },
    });
  });

  it('round-trips 1.0.0 and takes a missing cniVersion from the config', () => {
    const raw = resultToVersion(model, '1.0.0');
    assert.deepEqual(parseResult(raw, '0.4.0'), model);
    const { cniVersion: _, ...unversioned } = raw;
    assert.equal(parseResult(unversioned, '1.1.0').cniVersion, '1.1.0');
  });

  it('keeps a result already in the wanted version byte for byte', () => {
    const raw = { ...resultToVersion(model, '1.0.0'), vendorKey: 1 };
    assert.deepEqual(convertRawResult(raw, '1.0.0', '1.0.0'), raw);
  });

  it('refuses an unknown result version', () => {
    assert.throws(() => parseResult({ cniVersion: '0.5.0' }, '1.0.0'), {
      kind: 'invalid',
      message: 'no converter for CNI result version "0.5.0"',
    });
    assert.throws(() => resultToVersion(model, '2.0.0'), { kind: 'invalid' });
  });
});

describe('versions', () => {
  it('orders versions numerically and reads "" as 0.1.0', () => {
    assert.deepEqual(parseVersion(''), [0, 1, 0]);
    assert.equal(compareVersions('0.10.0', '0.4.0'), 1);
    assert.equal(compareVersions('1.0', '1.0.0'), 0);
    assert.throws(() => parseVersion('1.0.f'), { kind: 'invalid' });
  });

  it('decodes VERSION answers', () => {
    const info = decodeVersionInfo('{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}');
    assert.equal(supportsVersion(info, '1.0.0'), true);
    assert.equal(supportsVersion(info, '1.1.0'), false);
    assert.deepEqual(decodeVersionInfo('{"cniVersion":"0.2.0"}').supportedVersions, ['0.1.0', '0.2.0']);
    assert.throws(() => decodeVersionInfo('{"cniVersion":"1.0.0"}'), { kind: 'invalid' });
    assert.throws(() => decodeVersionInfo('{}'), { message: 'VERSION answer has no cniVersion' });
  });
});

describe('formatCniArgs', () => {
  it('joins pairs as K=V;K=V in order', () => {
    assert.equal(
      formatCniArgs([
        ['IgnoreUnknown', '1'],
        ['IP', '10.201.0.5'],
        ['EMPTY', ''],
      ]),
      'IgnoreUnknown=1;IP=10.201.0.5;EMPTY=',
    );
    assert.equal(formatCniArgs(undefined), '');
  });

  it('refuses separators inside keys and values', () => {
    assert.throws(() => formatCniArgs([['A=B', '1']]), { message: 'invalid CNI_ARGS key "A=B"' });
    assert.throws(() => formatCniArgs([['A', 'x;y']]), { message: 'invalid CNI_ARGS value "x;y" for key "A"' });
    assert.throws(() => formatCniArgs([['', 'x']]), { kind: 'invalid' });
  });
});
