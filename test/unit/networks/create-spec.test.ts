import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type CreateNetworkInput, parseCreateInput } from '../../../src/domain/network/create-spec.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

const refused: Array<[string, Partial<CreateNetworkInput>, string]> = [
  ['unknown driver', { driver: 'overlay' }, 'unsupported cni driver "overlay"'],
  ['unknown ipam driver', { ipamDriver: 'static' }, 'unsupported ipam driver "static"'],
  ['subnet with host bits', { subnets: ['10.5.0.1/16'] }, 'unexpected subnet "10.5.0.1/16", maybe you meant "10.5.0.0/16"?'],
  ['not a CIDR', { subnets: ['10.5.0.0'] }, 'invalid subnet "10.5.0.0": not a CIDR'],
  ['bad octet', { subnets: ['10.5.0.300/24'] }, 'invalid subnet "10.5.0.300/24": not a CIDR'],
  ['a /31', { subnets: ['10.202.0.0/31'] }, 'subnet "10.202.0.0/31" is too small: the prefix must be /30 or shorter'],
  ['a /32', { subnets: ['10.202.0.1/32'] }, 'subnet "10.202.0.1/32" is too small: the prefix must be /30 or shorter'],
  ['a /127', { ipv6: true, subnets: ['fd00::/127'] }, 'subnet "fd00::/127" is too small: the prefix must be /126 or shorter'],
  ['IPv6 without --ipv6', { subnets: ['fd00::/64'] }, 'IPv6 subnet "fd00::/64" needs --ipv6'],
  [
    'subnets overlapping each other',
    { subnets: ['10.202.0.0/16', '10.202.3.0/24'] },
    'subnet 10.202.3.0/24 overlaps with other one on this address space',
  ],
  ['gateway outside', { subnets: ['10.202.0.0/24'], gateways: ['10.202.1.1'] }, 'no matching subnet for gateway "10.202.1.1"'],
  ['gateway not an IP', { subnets: ['10.202.0.0/24'], gateways: ['gw'] }, 'invalid gateway "gw": not an IP address'],
  [
    'gateway = network address',
    { subnets: ['10.202.0.0/24'], gateways: ['10.202.0.0'] },
    'gateway "10.202.0.0" is the network or broadcast address of subnet "10.202.0.0/24"',
  ],
  [
    'two gateways for one subnet',
    { subnets: ['10.202.0.0/24'], gateways: ['10.202.0.1', '10.202.0.2'] },
    'more than one gateway for subnet "10.202.0.0/24"',
  ],
  ['gateway without subnet', { gateways: ['10.202.0.1'] }, 'cannot set gateway or ip-range without subnet, specify --subnet manually'],
  ['ip-range without subnet', { ipRanges: ['10.202.0.0/25'] }, 'cannot set gateway or ip-range without subnet, specify --subnet manually'],
  ['ip-range outside', { subnets: ['10.202.0.0/24'], ipRanges: ['10.202.1.0/25'] }, 'no matching subnet for ip-range "10.202.1.0/25"'],
  [
    'ip-range with host bits',
    { subnets: ['10.202.0.0/24'], ipRanges: ['10.202.0.1/25'] },
    'unexpected ip-range "10.202.0.1/25", maybe you meant "10.202.0.0/25"?',
  ],
  ['unknown bridge option', { options: ['parent=eth0'] }, 'unsupported "bridge" network option "parent"'],
  [
    'docker bridge name option',
    { options: ['com.docker.network.bridge.name=br0'] },
    'unsupported "bridge" network option "com.docker.network.bridge.name"',
  ],
  ['bad mtu', { options: ['mtu=big'] }, 'invalid mtu "big": must be a positive integer'],
  ['mtu 0', { options: ['mtu=0'] }, 'invalid mtu "0": must be between 68 and 65535'],
  ["mtu below IPv4's minimum", { options: ['mtu=67'] }, 'invalid mtu "67": must be between 68 and 65535'],
  [
    "mtu below IPv6's minimum",
    { ipv6: true, options: ['mtu=1279'] },
    'invalid mtu "1279": must be between 1280 and 65535 on an IPv6 network',
  ],
  [
    "mtu above the kernel's maximum",
    { options: ['com.docker.network.driver.mtu=65536'] },
    'invalid mtu "65536": must be between 68 and 65535',
  ],
  ['negative mtu', { options: ['mtu=-1'] }, 'invalid mtu "-1": must be a positive integer'],
  ['multicast subnet', { subnets: ['224.1.0.0/24'] }, 'invalid subnet "224.1.0.0/24": overlaps the multicast range 224.0.0.0/4'],
  ['link-local subnet', { subnets: ['169.254.3.0/24'] }, 'invalid subnet "169.254.3.0/24": overlaps the link-local range 169.254.0.0/16'],
  ['loopback subnet', { subnets: ['127.0.5.0/24'] }, 'invalid subnet "127.0.5.0/24": overlaps the loopback range 127.0.0.0/8'],
  ['class E subnet', { subnets: ['250.0.0.0/16'] }, 'invalid subnet "250.0.0.0/16": overlaps the reserved (class E) range 240.0.0.0/4'],
  ['subnet of "this network"', { subnets: ['0.0.0.0/24'] }, 'invalid subnet "0.0.0.0/24": overlaps the "this network" range 0.0.0.0/8'],
  [
    'a subnet holding a special range',
    { subnets: ['192.0.0.0/2'] },
    'invalid subnet "192.0.0.0/2": overlaps the multicast range 224.0.0.0/4',
  ],
  ['IPv6 link-local subnet', { ipv6: true, subnets: ['fe80::/64'] }, 'invalid subnet "fe80::/64": overlaps the link-local range fe80::/10'],
  ['IPv6 multicast subnet', { ipv6: true, subnets: ['ff02::/64'] }, 'invalid subnet "ff02::/64": overlaps the multicast range ff00::/8'],
  [
    'reserved label nerdctl/default-network',
    { labels: ['nerdctl/default-network=true'] },
    'label "nerdctl/default-network" is reserved: keys under nerdctl/ and tsnerd/ are set by the tools',
  ],
  [
    'reserved label tsnerd/…',
    { labels: ['tsnerd/x'] },
    'label "tsnerd/x" is reserved: keys under nerdctl/ and tsnerd/ are set by the tools',
  ],
  ['a newline in a label', { labels: ['a=b\nc'] }, 'invalid label "a=b\\nc": contains a control character'],
  [
    'a parent with a newline',
    { driver: 'macvlan', options: ['parent=eth0\n'] },
    'invalid parent interface "eth0\\n": not a valid interface name',
  ],
  [
    'a parent name too long',
    { driver: 'ipvlan', options: ['parent=abcdefghijklmnop'] },
    'invalid parent interface "abcdefghijklmnop": not a valid interface name',
  ],
  ['bad bool', { options: ['icc=maybe'] }, 'invalid value "maybe" for network option "icc": must be true or false'],
  ['macvlan without parent', { driver: 'macvlan' }, 'macvlan network needs a parent interface: -o parent=<interface>'],
  ['macvlan bad mode', { driver: 'macvlan', options: ['parent=eth0', 'mode=l2'] }, 'unknown macvlan mode "l2"'],
  [
    'ipvlan with macvlan_mode',
    { driver: 'ipvlan', options: ['parent=eth0', 'macvlan_mode=bridge'] },
    'unsupported "ipvlan" network option "macvlan_mode"',
  ],
  [
    'dhcp with subnet',
    { ipamDriver: 'dhcp', driver: 'macvlan', options: ['parent=eth0'], subnets: ['10.202.0.0/24'] },
    '--subnet, --gateway and --ip-range cannot be used with --ipam-driver dhcp',
  ],
  ['empty label key', { labels: ['=x'] }, 'invalid label "=x": empty key'],
];

describe('parseCreateInput', () => {
  for (const [what, input, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => parseCreateInput({ name: 't-net-x', ...input }),
        (err: unknown) => isTsnerdError(err, 'invalid') && err.message === message,
      );
    });
  }

  it('defaults to a bridge with host-local IPAM, masquerading and icc', () => {
    const spec = parseCreateInput({ name: 'foo' });
    assert.equal(spec.driver, 'bridge');
    assert.equal(spec.ipamDriver, 'host-local');
    assert.deepEqual(spec.options, { mtu: undefined, ipMasq: true, icc: true, parent: '', mode: undefined });
    assert.deepEqual(spec.subnets, []);
  });

  it('pairs each gateway and ip-range with the subnet that contains it and defaults the gateway to .1', () => {
    const spec = parseCreateInput({
      name: 'foo',
      ipv6: true,
      subnets: ['10.5.0.0/16', '2001:db8:5::/64', '10.6.0.0/24'],
      gateways: ['2001:db8:5::1', '10.5.0.254'],
      ipRanges: ['10.6.0.128/25'],
    });
    assert.deepEqual(
      spec.subnets.map((s) => [s.subnet.text, s.gateway.toString(), s.ipRange?.text]),
      [
        ['10.5.0.0/16', '10.5.0.254', undefined],
        ['2001:db8:5::/64', '2001:db8:5:0:0:0:0:1', undefined],
        ['10.6.0.0/24', '10.6.0.1', '10.6.0.128/25'],
      ],
    );
  });

  it('reads docker option names and --internal turns masquerading off', () => {
    const spec = parseCreateInput({
      name: 'foo',
      internal: true,
      options: ['com.docker.network.driver.mtu=9000', 'com.docker.network.bridge.enable_icc=false', 'ip-masq=true'],
    });
    assert.deepEqual(spec.options, { mtu: 9000, ipMasq: false, icc: false, parent: '', mode: undefined });
  });

  it('records --disable-dns as the network label tsnerd/dns=false', () => {
    assert.deepEqual(parseCreateInput({ name: 'foo', labels: ['a=b'], disableDns: true }).labels, { a: 'b', 'tsnerd/dns': 'false' });
    assert.deepEqual(parseCreateInput({ name: 'foo' }).labels, {});
  });

  it('takes labels as key=value, a bare key meaning an empty value', () => {
    assert.deepEqual(parseCreateInput({ name: 'foo', labels: ['a=b=c', 'flag'] }).labels, { a: 'b=c', flag: '' });
  });
});
