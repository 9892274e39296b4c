import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeNameFor, conflistPath, networkId, validateNetworkName } from '../../../src/domain/network/network-name.ts';

describe('network names and IDs', () => {
  it('accepts docker-compatible names', () => {
    for (const name of ['ab', 'my-net', 'net_1.2', '0x']) assert.doesNotThrow(() => validateNetworkName(name));
  });

  it('refuses bad names with the pattern in the message', () => {
    for (const name of ['a', '-ab', 'x/y', 'has space', 'é1', '.ab']) {
      assert.throws(() => validateNetworkName(name), {
        message: `invalid network name: identifier "${name}" must match pattern "[a-zA-Z0-9][a-zA-Z0-9_.-]+"`,
      });
    }
    assert.throws(() => validateNetworkName(''), { message: 'invalid network name: identifier must not be empty' });
  });

  it('refuses the predefined names', () => {
    for (const name of ['host', 'none', 'bridge']) {
      assert.throws(() => validateNetworkName(name), { message: `operation is not permitted on predefined ${name} network` });
    }
  });

  it('derives the ID from the name like nerdctl (sha256 hex)', () => {
    assert.equal(networkId('foo'), '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae');
    assert.equal(networkId('bridge'), '17f29b073143d8cd97b5bbe492bdeffec1c5fee55cc1fe2112c8b9335f8b6121');
  });

  it('names the bridge nerdctl0 for the default network and br-<id12> otherwise', () => {
    assert.equal(bridgeNameFor('bridge', networkId('bridge')), 'nerdctl0');
    assert.equal(bridgeNameFor('foo', networkId('foo')), 'br-2c26b46b68ff');
  });

  it('puts bridge at the top level and every other network in its namespace folder', () => {
    assert.equal(conflistPath('/etc/cni/net.d/', 'default', 'bridge'), '/etc/cni/net.d/nerdctl-bridge.conflist');
    assert.equal(conflistPath('/etc/cni/net.d', 'default', 'foo'), '/etc/cni/net.d/default/nerdctl-foo.conflist');
    assert.equal(conflistPath('/c', 'k8s.io', 'foo'), '/c/k8s.io/nerdctl-foo.conflist');
  });
});
