import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  endpointsFromLabels,
  nextInterfaceName,
  parseNetworkSpecs,
  planEndpoints,
  subnetContains,
  type PlannedNetwork,
} from '../../../src/domain/network/endpoint.ts';
import { parseNetworkMode } from '../../../src/domain/network-mode.ts';
import { hostsRenderer, type HostsMeta } from '../../../src/domain/dns/hosts-file.ts';

const net = (ref: string, subnets: string[] = ['10.214.1.0/24'], isDefault = false): PlannedNetwork => ({
  ref,
  name: ref,
  isDefault,
  subnets,
});

describe('parseNetworkSpecs', () => {
  it('keeps --net a,b as two networks and attaches key=value items to the network before them', () => {
    assert.deepEqual(parseNetworkSpecs(['n1,alias=x,ip=10.214.1.5', 'n2,alias=y,alias=z']), [
      { network: 'n1', options: { aliases: ['x'], ip: '10.214.1.5' }, advanced: true },
      { network: 'n2', options: { aliases: ['y', 'z'] }, advanced: true },
    ]);
    assert.deepEqual(
      parseNetworkSpecs(['a,b']).map((e) => e.network),
      ['a', 'b'],
    );
  });

  it("takes Docker's name=N form, in any position", () => {
    assert.deepEqual(parseNetworkSpecs(['alias=x,name=n1,mac-address=02:42:ac:11:00:02']), [
      { network: 'n1', options: { aliases: ['x'], mac: '02:42:ac:11:00:02' }, advanced: true },
    ]);
  });

  it('refuses unknown keys, empty values, options without a network and a key given twice', () => {
    assert.throws(() => parseNetworkSpecs(['n1,foo=1']), /invalid network option "foo"/);
    assert.throws(() => parseNetworkSpecs(['n1,ip=']), /empty value/);
    assert.throws(() => parseNetworkSpecs(['alias=x']), /options without a network name/);
    assert.throws(() => parseNetworkSpecs(['n1,ip=10.0.0.1,ip=10.0.0.2']), /ip given twice/);
    assert.throws(() => parseNetworkSpecs(['n1,,n2']), /empty value/);
  });

  it('leaves container: and ns: values whole, so parseNetworkMode sees them as before', () => {
    assert.deepEqual(parseNetworkMode(['container:abc']), { kind: 'container', container: 'abc' });
    assert.deepEqual(parseNetworkMode(['n1,alias=x', 'n2']), { kind: 'cni', networks: ['n1', 'n2'] });
  });
});

describe('planEndpoints', () => {
  it('gives eth0 the legacy flags and the ports, each network its own options', () => {
    const specs = parseNetworkSpecs(['n1', 'n2,alias=y,ip=10.214.2.9']);
    const eps = planEndpoints([net('n1'), net('n2', ['10.214.2.0/24'])], specs, { aliases: ['x'], ip: '10.214.1.5' });
    assert.deepEqual(eps, [
      { network: 'n1', ifname: 'eth0', aliases: ['x'], ip: '10.214.1.5', publish: true },
      { network: 'n2', ifname: 'eth1', aliases: ['y'], ip: '10.214.2.9' },
    ]);
  });

  it("refuses a legacy flag together with the same per-network option (Docker's messages)", () => {
    const specs = parseNetworkSpecs(['n1,alias=a,ip=10.214.1.5']);
    assert.throws(() => planEndpoints([net('n1')], specs, { aliases: ['x'] }), /cannot specify both --network-alias and per-network alias/);
    assert.throws(
      () => planEndpoints([net('n1')], specs, { aliases: [], ip: '10.214.1.6' }),
      /cannot specify both --ip and per-network IPv4 address/,
    );
  });

  it('refuses aliases on the default network and malformed options', () => {
    assert.throws(
      () => planEndpoints([net('bridge', ['10.4.0.0/24'], true)], [], { aliases: ['x'] }),
      /network-scoped alias is supported only/,
    );
    assert.throws(() => planEndpoints([net('n1')], parseNetworkSpecs(['n1,ip6=zz']), { aliases: [] }), /invalid IPv6 address "zz"/);
    assert.throws(() => planEndpoints([net('n1')], parseNetworkSpecs(['n1,alias=-bad']), { aliases: [] }), /invalid alias "-bad"/);
    for (const mac of ['01:00:5e:00:00:01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00']) {
      assert.throws(
        () => planEndpoints([net('n1')], parseNetworkSpecs([`n1,mac=${mac}`]), { aliases: [] }),
        new RegExp(`invalid MAC address "${mac}" for network n1: a multicast or all-zero address`),
      );
    }
  });
});

describe('endpoint helpers', () => {
  it('derives the endpoints of a container made without a record from its labels', () => {
    assert.deepEqual(endpointsFromLabels({ 'tsnerd/networks': '["n1","n2"]', 'tsnerd/ip': '10.1.1.1' }), [
      { network: 'n1', ifname: 'eth0', aliases: [], ip: '10.1.1.1', publish: true },
      { network: 'n2', ifname: 'eth1', aliases: [] },
    ]);
    assert.deepEqual(endpointsFromLabels({ 'tsnerd/networks': '["host"]' }), []);
  });

  it('picks the lowest free ethN', () => {
    assert.equal(
      nextInterfaceName([
        { network: 'a', ifname: 'eth0', aliases: [] },
        { network: 'b', ifname: 'eth2', aliases: [] },
      ]),
      'eth1',
    );
  });

  it('tests subnet membership for IPv4 and IPv6', () => {
    assert.ok(subnetContains('10.214.2.0/24', '10.214.2.77'));
    assert.ok(!subnetContains('10.214.2.0/24', '10.214.3.1'));
    assert.ok(subnetContains('fd00:214::/64', 'fd00:214::5'));
    assert.ok(!subnetContains('fd00:214::/64', 'fd00:215::5'));
    assert.ok(!subnetContains('fd00:214::/64', '10.214.2.1'));
  });
});

describe('hosts lines with aliases', () => {
  const meta = (id: string, name: string, ip: string, aliases?: string[]): HostsMeta => ({
    ID: id,
    Name: name,
    Hostname: id,
    Domainname: '',
    ExtraHosts: {},
    Networks: { n2: { ips: [{ address: `${ip}/24` }] } },
    ...(aliases ? { Aliases: { n2: aliases } } : {}),
  });

  it("lists a container's aliases on its network's line, and two containers sharing an alias both", () => {
    const a = meta('aaa', 'a', '10.214.2.2', ['db']);
    const b = meta('bbb', 'b', '10.214.2.3', ['db']);
    const text = hostsRenderer([a, b])('', meta('ccc', 'c', '10.214.2.4'));
    assert.match(text, /^10\.214\.2\.2\s+aaa aaa\.n2 a a\.n2 db$/m);
    assert.match(text, /^10\.214\.2\.3\s+bbb bbb\.n2 b b\.n2 db$/m);
  });
});
