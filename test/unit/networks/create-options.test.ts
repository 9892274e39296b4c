/** network create --ipv4=false, --aux-address and --ipam-opt: specs and the conflists they give. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildConflist, needsIPv6Subnet, planRanges } from '../../../src/domain/network/build-conflist.ts';
import { parseCidr } from '../../../src/domain/network/cidr.ts';
import { pickFreeIPv6Subnet, ulaPrefix } from '../../../src/domain/network/ula.ts';
import { type CreateNetworkInput, parseCreateInput } from '../../../src/domain/network/create-spec.ts';
import { templates } from './helpers.ts';

function conflist(
  input: CreateNetworkInput,
): Record<string, unknown> & { plugins: Record<string, unknown>[]; nerdctlLabels?: Record<string, string> } {
  const spec = parseCreateInput(input);
  return JSON.parse(JSON.stringify(buildConflist(templates(), spec, planRanges(spec, [])))) as never;
}

describe('network create --ipv4=false', () => {
  it('gives an IPv6-only network: no automatic IPv4 subnet, default route ::/0', () => {
    const c = conflist({ name: 'v6', ipv4: false, ipv6: true, subnets: ['fd00:214:1::/64'] });
    assert.deepEqual(c.plugins[0]!['ipam'], {
      ranges: [[{ gateway: 'fd00:214:1::1', subnet: 'fd00:214:1::/64' }]],
      routes: [{ dst: '::/0' }],
      type: 'host-local',
    });
  });

  it('gives a dual-stack network both default routes, ::/0 next to 0.0.0.0/0', () => {
    const c = conflist({ name: 'ds', ipv6: true, subnets: ['fd00:214:2::/64', '10.214.20.0/24'] });
    assert.deepEqual((c.plugins[0]!['ipam'] as { routes: unknown }).routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
    const v4 = conflist({ name: 'v4', subnets: ['10.214.20.0/24'] });
    assert.deepEqual((v4.plugins[0]!['ipam'] as { routes: unknown }).routes, [{ dst: '0.0.0.0/0' }]);
  });

  it('refuses what cannot be an IPv6-only network', () => {
    assert.throws(() => parseCreateInput({ name: 'v6', ipv4: false }), /IPv4 or IPv6 must be enabled/);
    assert.throws(
      () => parseCreateInput({ name: 'v6', ipv4: false, ipv6: true, subnets: ['10.214.0.0/24', 'fd00:214::/64'] }),
      /IPv4 subnet "10.214.0.0\/24" given with --ipv4=false/,
    );
  });
});

describe('network create --ipv6 without an IPv6 --subnet', () => {
  const pool = ulaPrefix('f00dfeed');
  const ranges = (input: CreateNetworkInput, used: string[] = []) => {
    const spec = parseCreateInput(input);
    return planRanges(
      spec,
      used.map((u) => parseCidr(u)!),
      needsIPv6Subnet(spec) ? pool : undefined,
    ).map((set) => set.map((r) => `${r.subnet} ${r.gateway}`));
  };

  it("takes the host's unique local /48 from its machine ID (fd + 40 bits of a hash), the same each time", () => {
    assert.equal(ulaPrefix('f00dfeed').text, 'fda3:fe42:c0d7::/48');
    assert.equal(ulaPrefix('f00dfeed\n').text, 'fda3:fe42:c0d7::/48');
    assert.equal(ulaPrefix('0123456789abcdef0123456789abcdef').text, 'fdde:e2e6:9de4::/48');
  });

  it('gives a dual-stack network the first free /64 of it beside the automatic IPv4 /24', () => {
    assert.deepEqual(ranges({ name: 'a6', ipv6: true }), [['10.4.1.0/24 10.4.1.1'], ['fda3:fe42:c0d7::/64 fda3:fe42:c0d7::1']]);
    assert.deepEqual(ranges({ name: 'a6', ipv6: true, subnets: ['10.214.30.0/24'] }, ['fda3:fe42:c0d7::/64', 'fda3:fe42:c0d7:2::/64']), [
      ['10.214.30.0/24 10.214.30.1'],
      ['fda3:fe42:c0d7:1::/64 fda3:fe42:c0d7:1::1'],
    ]);
    // an IPv6-only network gets one too (it was refused before), and nothing is added to a given IPv6 subnet
    assert.deepEqual(ranges({ name: 'o6', ipv4: false, ipv6: true }, ['fda3:fe42:c0d7::/63']), [
      ['fda3:fe42:c0d7:2::/64 fda3:fe42:c0d7:2::1'],
    ]);
    assert.deepEqual(ranges({ name: 'g6', ipv6: true, subnets: ['fd00:214:3::/64'] }), [
      ['fd00:214:3::/64 fd00:214:3::1'],
      ['10.4.1.0/24 10.4.1.1'],
    ]);
    assert.deepEqual(ranges({ name: 'n6', subnets: ['10.214.31.0/24'] }), [['10.214.31.0/24 10.214.31.1']]);
  });

  it('fails with one line when the /48 is full', () => {
    assert.throws(
      () => pickFreeIPv6Subnet([parseCidr('fda3:fe42:c0d7::/48')!], pool),
      /could not find a free IPv6 subnet in fda3:fe42:c0d7::\/48/,
    );
    assert.equal(pickFreeIPv6Subnet([parseCidr('fda3:fe42:c0d7::/49')!], pool).text, 'fda3:fe42:c0d7:8000::/64');
  });
});

describe('network create --aux-address', () => {
  it("cuts the host-local range around the reserved addresses and records them in nerdctl's label", () => {
    const c = conflist({ name: 'aux', subnets: ['10.214.9.0/24'], auxAddresses: ['router=10.214.9.5', 'dns=10.214.9.254'] });
    const ipam = c.plugins[0]!['ipam'] as { ranges: unknown[][] };
    assert.deepEqual(ipam.ranges, [
      [
        { gateway: '10.214.9.1', rangeEnd: '10.214.9.4', rangeStart: '10.214.9.1', subnet: '10.214.9.0/24' },
        { gateway: '10.214.9.1', rangeEnd: '10.214.9.253', rangeStart: '10.214.9.6', subnet: '10.214.9.0/24' },
      ],
    ]);
    assert.deepEqual(JSON.parse(c.nerdctlLabels!['nerdctl/network-aux-addresses']!), {
      '10.214.9.0/24': { router: '10.214.9.5', dns: '10.214.9.254' },
    });
  });

  it('refuses addresses outside the subnets, the gateway, duplicates and bad forms', () => {
    const base = { name: 'aux', subnets: ['10.214.9.0/24'] };
    assert.throws(() => parseCreateInput({ ...base, auxAddresses: ['a=10.214.8.1'] }), /no matching subnet for aux-address "10.214.8.1"/);
    assert.throws(() => parseCreateInput({ ...base, auxAddresses: ['a=10.214.9.1'] }), /is the gateway/);
    assert.throws(() => parseCreateInput({ ...base, auxAddresses: ['a=10.214.9.9', 'b=10.214.9.9'] }), /given twice/);
    assert.throws(() => parseCreateInput({ ...base, auxAddresses: ['10.214.9.9'] }), /expected name=IP/);
    assert.throws(() => parseCreateInput({ ...base, auxAddresses: ['a=x'] }), /is not an IP address/);
    assert.throws(() => parseCreateInput({ name: 'aux', auxAddresses: ['a=10.214.9.9'] }), /--aux-address needs --subnet/);
  });
});

describe('network create --ipam-opt', () => {
  it('adds dhcp provide and request options', () => {
    const c = conflist({
      name: 'dh',
      driver: 'macvlan',
      options: ['parent=eth0'],
      ipamDriver: 'dhcp',
      ipamOptions: ['domain-name={"type":"provide","value":"example.com"}', 'routers={"type":"request","skipDefault":true}'],
    });
    const ipam = c.plugins[0]!['ipam'] as Record<string, unknown>;
    assert.deepEqual(ipam['provide'], [
      { fromArg: 'NERDCTL_CNI_DHCP_HOSTNAME', option: 'host-name', value: '' },
      { option: 'domain-name', value: 'example.com' },
    ]);
    assert.deepEqual(ipam['request'], [{ option: 'routers', skipDefault: true }]);
  });

  it('is refused without dhcp and with malformed values', () => {
    assert.throws(() => parseCreateInput({ name: 'nn', ipamOptions: ['a={"type":"request"}'] }), /only supported with --ipam-driver dhcp/);
    const dhcp = { name: 'nn', driver: 'macvlan', options: ['parent=eth0'], ipamDriver: 'dhcp' };
    assert.throws(() => parseCreateInput({ ...dhcp, ipamOptions: ['a=notjson'] }), /the value is not JSON/);
    assert.throws(() => parseCreateInput({ ...dhcp, ipamOptions: ['a={"type":"x"}'] }), /"type" must be "provide" or "request"/);
    assert.throws(() => parseCreateInput({ ...dhcp, ipamOptions: ['a'] }), /expected option=JSON/);
  });
});
