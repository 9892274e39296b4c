/** The runtime conf of one endpoint and the ports the holder binds: `::` twins on networks with IPv6 only. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';
import { heldPortMappings, runtimeConfFor } from '../../../src/app/attach/attachment.ts';

const list = (...subnets: string[]) =>
  parseConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'n',
      plugins: [{ type: 'bridge', ipam: { type: 'host-local', ranges: subnets.map((subnet) => [{ subnet }]) } }],
    }),
  );
const c = { namespace: 'default', id: 'abc', annotations: {} };
const ports = [
  { HostPort: 8080, ContainerPort: 80, Protocol: 'tcp', HostIP: '0.0.0.0' },
  { HostPort: 8443, ContainerPort: 443, Protocol: 'tcp', HostIP: '127.0.0.1' },
];

describe('runtimeConfFor', () => {
  it('gives the ports to the publishing endpoint only, with a :: twin of each all-address mapping on IPv6', () => {
    const rt = runtimeConfFor(
      c,
      '/proc/1/ns/net',
      { network: 'n', ifname: 'eth0', aliases: [], publish: true },
      list('10.0.0.0/24', 'fd00::/64'),
      ports,
    );
    assert.equal(rt.containerId, 'default-abc');
    assert.deepEqual(
      rt.capabilityArgs?.portMappings?.map((m) => `${m.hostIP}:${m.hostPort}`),
      ['0.0.0.0:8080', ':::8080', '127.0.0.1:8443'],
    );
    const v4 = runtimeConfFor(c, '', { network: 'n', ifname: 'eth0', aliases: [], publish: true }, list('10.0.0.0/24'), ports);
    assert.deepEqual(v4.capabilityArgs?.portMappings?.length, 2);
    const other = runtimeConfFor(c, '', { network: 'n', ifname: 'eth1', aliases: [], ip: '10.0.0.9' }, list('10.0.0.0/24'), ports);
    assert.equal(other.capabilityArgs?.portMappings, undefined);
    assert.deepEqual(other.args, [
      ['IgnoreUnknown', '1'],
      ['IP', '10.0.0.9'],
    ]);
  });
});

describe('heldPortMappings', () => {
  it("holds the :: side exactly when the publishing endpoint's network has IPv6", () => {
    const endpoints = [
      { network: 'a', ifname: 'eth0', aliases: [], publish: true },
      { network: 'b', ifname: 'eth1', aliases: [] },
    ];
    assert.deepEqual(
      heldPortMappings(endpoints, [{ list: list('10.0.0.0/24', 'fd00::/64') }, { list: list('10.1.0.0/24') }], ports).map((m) => m.HostIP),
      ['0.0.0.0', '::', '127.0.0.1'],
    );
    assert.deepEqual(
      heldPortMappings(endpoints, [{ list: list('10.0.0.0/24') }, { list: list('10.1.0.0/24', 'fd00::/64') }], ports).map((m) => m.HostIP),
      ['0.0.0.0', '127.0.0.1'],
    );
    assert.deepEqual(heldPortMappings([], [], ports).length, 2);
  });
});
