import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildConflist, defaultNetworkSpec, planRanges, serializeConflist } from '../../../src/domain/network/build-conflist.ts';
import { type CreateNetworkInput, parseCreateInput } from '../../../src/domain/network/create-spec.ts';
import { type Cidr } from '../../../src/domain/network/cidr.ts';
import { cidrs, fixture, templates } from './helpers.ts';

function conflistFor(input: CreateNetworkInput, used: Cidr[] = []): string {
  const spec = parseCreateInput(input);
  return serializeConflist(buildConflist(templates(), spec, planRanges(spec, used)));
}

describe('conflists (byte-for-byte as nerdctl writes them)', () => {
  it('default bridge network', () => {
    const spec = defaultNetworkSpec();
    assert.equal(serializeConflist(buildConflist(templates(), spec, planRanges(spec, []))), fixture('default-bridge.conflist'));
  });

  it("default bridge network with --bridge-ip 10.42.100.1/24 (nerdctl's unit vector): gw .1, subnet /24, default route", () => {
    const spec = defaultNetworkSpec('10.42.100.1/24');
    const conf = JSON.parse(serializeConflist(buildConflist(templates(), spec, planRanges(spec, []))));
    assert.deepEqual(conf.plugins[0].ipam.ranges, [[{ gateway: '10.42.100.1', subnet: '10.42.100.0/24' }]]);
    assert.deepEqual(conf.plugins[0].ipam.routes, [{ dst: '0.0.0.0/0' }]);
    assert.equal(conf.plugins[0].bridge, 'nerdctl0');
    assert.deepEqual(conf.nerdctlLabels, { 'nerdctl/default-network': 'true' });
    assert.throws(() => defaultNetworkSpec('10.42.100.255/24'), { message: /^invalid --bridge-ip "10.42.100.255\/24": gateway/ });
    assert.throws(() => defaultNetworkSpec('224.0.0.1/24'), { message: /^invalid --bridge-ip "224.0.0.1\/24": .*multicast/ });
  });

  it('bridge with an automatic subnet', () => {
    assert.equal(conflistFor({ name: 'foo' }), fixture('foo-auto.conflist'));
  });

  it('internal bridge with mtu and a label: no gateway, masquerade, routes or portmap', () => {
    assert.equal(
      conflistFor({ name: 'foo', internal: true, subnets: ['10.202.0.0/24'], options: ['mtu=9216'], labels: ['tag=x'] }),
      fixture('foo-internal-mtu.conflist'),
    );
  });

  it('ip-range becomes rangeStart/rangeEnd', () => {
    assert.equal(conflistFor({ name: 'foo', subnets: ['10.5.0.0/16'], ipRanges: ['10.5.1.0/24'] }), fixture('foo-ip-range.conflist'));
  });

  it('an ip-range ending where the subnet ends stops before the broadcast address', () => {
    const conf = JSON.parse(conflistFor({ name: 'foo', subnets: ['10.5.0.0/24'], ipRanges: ['10.5.0.128/25'] }));
    const [range] = conf.plugins[0].ipam.ranges[0];
    assert.equal(range.rangeStart, '10.5.0.129');
    assert.equal(range.rangeEnd, '10.5.0.254');
  });

  it('dual stack: the IPv6 subnet first, then an automatic IPv4 one avoiding used subnets; ::/0 next to 0.0.0.0/0 (docs/compat.md)', () => {
    assert.equal(
      conflistFor({ name: 'foo', ipv6: true, subnets: ['2001:db8::/64'] }, cidrs('10.4.1.0/24')),
      fixture('foo-dual-stack.conflist'),
    );
  });

  it('icc=false isolates, ip-masq=false drops masquerading', () => {
    assert.equal(conflistFor({ name: 'foo', options: ['icc=false', 'ip-masq=false'] }), fixture('foo-no-icc-no-masq.conflist'));
  });

  it('macvlan on a parent with an explicit gateway', () => {
    assert.equal(
      conflistFor({ name: 'mac0', driver: 'macvlan', subnets: ['192.168.5.0/24'], gateways: ['192.168.5.2'], options: ['parent=eth0'] }),
      fixture('mac0-macvlan.conflist'),
    );
  });

  it('ipvlan l3 with dhcp', () => {
    assert.equal(
      conflistFor({ name: 'ipv0', driver: 'ipvlan', ipamDriver: 'dhcp', options: ['parent=eth1', 'ipvlan_mode=l3', 'mtu=1400'] }),
      fixture('ipv0-ipvlan-dhcp.conflist'),
    );
  });

  it('refuses a subnet that overlaps a used one', () => {
    assert.throws(() => conflistFor({ name: 'foo', subnets: ['10.202.0.0/24'] }, cidrs('10.202.0.0/16')), {
      message: 'subnet 10.202.0.0/24 overlaps with other one on this address space',
    });
  });
});
