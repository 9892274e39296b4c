import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeContainerLabels, decodeIdentityLabels, encodeContainerLabels, Labels } from '../../../src/domain/labels.ts';
import { TsnerdError } from '../../../src/domain/errors.ts';

test('labels round-trip through the codec', () => {
  const fields = {
    name: 'web',
    namespace: 'default',
    stateDir: '/var/lib/tsnerd/x/containers/default/abc',
    networks: ['bridge', 'app'],
    extraHosts: ['db:10.0.0.2'],
    hostname: 'web',
    domainname: 'example.org',
    ip: '10.4.0.9',
    ip6: 'fd00::9',
    macAddress: '02:42:ac:11:00:02',
    dns: { DNSServers: ['1.1.1.1'], DNSSearchDomains: ['a.b'], DNSResolvConfOptions: ['ndots:2'] },
    exposedPorts: ['80/tcp'],
    autoRemove: true,
  };
  assert.deepEqual(decodeContainerLabels(encodeContainerLabels(fields)), fields);
});

test('empty values are left out, but networks is always written', () => {
  assert.deepEqual(encodeContainerLabels({ networks: [], extraHosts: [], ip: '', autoRemove: false }), {
    [Labels.networks]: '[]',
    'nerdctl/networks': '[]',
  });
  const decoded = decodeContainerLabels({});
  assert.deepEqual(decoded.networks, []);
  assert.equal(decoded.dns, undefined);
  assert.equal(decoded.autoRemove, false);
});

test('a malformed JSON label is an invalid error that names the key and the value', () => {
  for (const [key, value] of [
    [Labels.networks, '{not json'],
    [Labels.networks, '[1,2]'],
    [Labels.extraHosts, '"x"'],
    [Labels.dns, '[]'],
    [Labels.dns, '{"DNSServers":[3]}'],
  ] as const) {
    assert.throws(
      () => decodeContainerLabels({ [key]: value }),
      (e: unknown) =>
        e instanceof TsnerdError && e.kind === 'invalid' && e.message.includes(key) && e.message.includes(JSON.stringify(value)),
      `${key}=${value}`,
    );
  }
});

test('identity labels never throw, whatever the other labels hold', () => {
  assert.deepEqual(decodeIdentityLabels({ [Labels.name]: 'n', [Labels.networks]: '{bad' }), {
    name: 'n',
    namespace: undefined,
    stateDir: undefined,
  });
});
