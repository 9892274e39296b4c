import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkModeToList, parseNetworkMode } from '../../../src/domain/network-mode.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

test('parses each kind', () => {
  const cases: [string[], unknown][] = [
    [[], { kind: 'cni', networks: ['bridge'] }],
    [['host'], { kind: 'host' }],
    [['none'], { kind: 'none' }],
    [['container:web'], { kind: 'container', container: 'web' }],
    [['ns:/run/netns/x'], { kind: 'ns', path: '/run/netns/x' }],
    [['a,b', 'b', 'c'], { kind: 'cni', networks: ['a', 'b', 'c'] }],
    [['host', 'host'], { kind: 'host' }],
  ];
  for (const [values, want] of cases) assert.deepEqual(parseNetworkMode(values), want, values.join(' '));
});

test('refuses mixed kinds and bad values with usage errors', () => {
  const cases: [string[], string][] = [
    [['bridge', 'host'], 'mixed network types: cni and host'],
    [['none,foo'], 'mixed network types: none and cni'],
    [
      ['container:a', 'container:b'],
      "conflicting options: only one network specification is allowed when using '--network=container:<container>'",
    ],
    [['container:'], 'invalid network "container:": missing container name or ID'],
    [['ns:rel'], 'invalid network "ns:rel": the namespace path must be absolute'],
    [['a,,b'], 'invalid network: empty value'],
  ];
  for (const [values, message] of cases) {
    assert.throws(
      () => parseNetworkMode(values),
      (e) => isTsnerdError(e, 'usage') && e.message === message,
      values.join(' '),
    );
  }
});

test('round-trips to the label list', () => {
  for (const v of [['host'], ['none'], ['container:x'], ['ns:/p'], ['n1', 'n2']]) {
    assert.deepEqual(networkModeToList(parseNetworkMode(v)), v);
  }
});
