import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endpointIdOf, networkSettings } from '../../../src/domain/network-settings.ts';

describe('networkSettings', () => {
  const result = {
    interfaces: [{ name: 'br-1' }, { name: 'veth1' }, { name: 'eth0', mac: '02:42:0a:04:00:05', sandbox: '/proc/1/ns/net' }],
    ips: [
      { address: '10.4.0.5/24', gateway: '10.4.0.1', interface: 2 },
      { address: 'fd00::5/64', gateway: 'fd00::1', interface: 2 },
    ],
  };

  it('keys networks by their real names and takes the first as primary', () => {
    const s = networkSettings({ mynet: result }, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '0.0.0.0' }]);
    assert.equal(s.IPAddress, '10.4.0.5');
    assert.equal(s.IPPrefixLen, 24);
    assert.equal(s.Gateway, '10.4.0.1');
    assert.equal(s.MacAddress, '02:42:0a:04:00:05');
    assert.equal(s.GlobalIPv6Address, 'fd00::5');
    assert.deepEqual(Object.keys(s.Networks), ['mynet']);
    assert.deepEqual(s.Ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
  });

  it("gives each attachment an EndpointID from the CNI container ID and the result's ethN and MAC", () => {
    const s = networkSettings({ mynet: result }, [], [], undefined, {}, 'default-abc');
    assert.match(s.Networks['mynet']!.EndpointID, /^[0-9a-f]{64}$/);
    assert.equal(s.Networks['mynet']!.EndpointID, endpointIdOf('default-abc', result));
    const eth1 = { ...result, interfaces: result.interfaces.map((i) => (i.sandbox ? { ...i, name: 'eth1' } : i)) };
    assert.notEqual(endpointIdOf('default-abc', eth1), endpointIdOf('default-abc', result));
    assert.equal(networkSettings({ mynet: result }, []).Networks['mynet']!.EndpointID, '');
  });

  it('is empty for a container without CNI results', () => {
    const s = networkSettings(null, []);
    assert.equal(s.IPAddress, '');
    assert.deepEqual(s.Networks, {});
  });
});
