import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { hostVethsOf } from '../../../src/domain/cni/attachment.ts';

const bridgeChain = [
  { type: 'bridge', raw: { type: 'bridge', bridge: 'br-0123456789ab' } },
  { type: 'portmap', raw: { type: 'portmap' } },
];

describe('hostVethsOf: the host ends of the veths a DEL without a netns leaves', () => {
  it('names the interfaces outside the sandbox other than the bridge, each with its bridge', () => {
    const interfaces = [{ name: 'br-0123456789ab' }, { name: 'veth1a2b3c4d' }, { name: 'eth0', sandbox: '/proc/42/ns/net' }];
    assert.deepEqual(hostVethsOf(bridgeChain, interfaces), [{ link: 'veth1a2b3c4d', bridge: 'br-0123456789ab' }]);
  });

  it('the bridge plugin without a bridge key uses cni0', () => {
    const interfaces = [{ name: 'cni0' }, { name: 'veth0' }, { name: 'eth0', sandbox: '/x' }];
    assert.deepEqual(hostVethsOf([{ type: 'bridge', raw: { type: 'bridge' } }], interfaces), [{ link: 'veth0', bridge: 'cni0' }]);
  });

  it('nothing for chains without a bridge plugin, nor for names that are no interface name', () => {
    assert.deepEqual(hostVethsOf([{ type: 'macvlan', raw: {} }], [{ name: 'eth0', sandbox: '/x' }, { name: 'x' }]), []);
    assert.deepEqual(hostVethsOf(bridgeChain, [{ name: '../../etc' }, { name: 'a-name-far-too-long' }]), []);
  });
});
