import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalCidr,
  dnsDnatBridges,
  dnsDnatRules,
  dnsDnatRulesOf,
  missingDnsDnatRules,
  parseDnsDnatRule,
  dnsInputBridges,
  dnsInputRules,
  dnsInputRulesOf,
  dnsInputSpecOf,
  missingDnsInputRules,
  parseDnsInputRule,
} from '../../../src/domain/netfilter/dns-input.ts';
import { networkFromConflist } from '../../../src/domain/network/network.ts';
import type { AnyConflist } from '../../../src/domain/network/conflist-schema.ts';

const network = (ranges: { subnet: string; gateway?: string }[][], bridge = 'br-0123456789ab') =>
  networkFromConflist('/c/nerdctl-n.conflist', {
    cniVersion: '1.0.0',
    name: 'n',
    plugins: [{ type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', ranges } }],
  } as unknown as AnyConflist);

const UDP = '-A INPUT -s 10.1.2.0/24 -d 10.1.2.1/32 -i br-0123456789ab -p udp -m udp --dport 53 -m comment --comment tsnerd-dns -j ACCEPT';
const TCP = UDP.replaceAll('udp', 'tcp');

describe('DNS rules in INPUT (domain/netfilter/dns-input.ts)', () => {
  it('one ACCEPT per gateway, subnet of its family and transport, written as iptables -S prints them', () => {
    const spec = dnsInputSpecOf(
      network([[{ subnet: '10.1.2.0/24', gateway: '10.1.2.1' }], [{ subnet: 'FD00:0:0:1::/64', gateway: 'fd00:0:0:1:0::1' }]]),
    )!;
    assert.deepEqual(spec, {
      bridge: 'br-0123456789ab',
      pairs: [
        { subnet: '10.1.2.0/24', gateway: '10.1.2.1' },
        { subnet: 'fd00:0:0:1::/64', gateway: 'fd00:0:0:1::1' },
      ],
      port: 53,
    });
    assert.deepEqual(dnsInputRules(spec, 4), [UDP, TCP]);
    assert.deepEqual(dnsInputRules(spec, 6), [
      '-A INPUT -s fd00:0:0:1::/64 -d fd00:0:0:1::1/128 -i br-0123456789ab -p udp -m udp --dport 53 -m comment --comment tsnerd-dns -j ACCEPT',
      '-A INPUT -s fd00:0:0:1::/64 -d fd00:0:0:1::1/128 -i br-0123456789ab -p tcp -m tcp --dport 53 -m comment --comment tsnerd-dns -j ACCEPT',
    ]);
  });

  it('a container of either subnet of a family may ask either gateway of it', () => {
    const spec = dnsInputSpecOf(
      network([[{ subnet: '10.1.2.0/24', gateway: '10.1.2.1' }], [{ subnet: '10.1.3.0/24', gateway: '10.1.3.1' }]]),
    )!;
    assert.deepEqual(
      spec.pairs.map((p) => `${p.subnet}->${p.gateway}`),
      ['10.1.2.0/24->10.1.2.1', '10.1.3.0/24->10.1.2.1', '10.1.2.0/24->10.1.3.1', '10.1.3.0/24->10.1.3.1'],
    );
  });

  it('none without a gateway or a plain bridge name', () => {
    assert.equal(dnsInputSpecOf(network([[{ subnet: '10.1.2.0/24' }]])), undefined);
    assert.equal(dnsInputSpecOf(network([[{ subnet: '10.1.2.0/24', gateway: '10.1.2.1' }]], 'br\n-A INPUT')), undefined);
  });

  it('inserts at the top only what INPUT lacks, whatever the address spelling', () => {
    const spec = dnsInputSpecOf(network([[{ subnet: '10.1.2.0/24', gateway: '10.1.2.1' }]]))!;
    assert.deepEqual(missingDnsInputRules(spec, 4, ['-P INPUT DROP', UDP, '-A INPUT -j ufw-before-input']), [`-I INPUT 1${TCP.slice(8)}`]);
    assert.deepEqual(missingDnsInputRules(spec, 4, [UDP, TCP]), []);
    assert.equal(
      missingDnsInputRules(spec, 4, [UDP.replace('--comment tsnerd-dns', '--comment other')]).length,
      2,
      "another tool's rule is not ours",
    );
  });

  it("reads back its own rules only, and deletes each of a bridge's (duplicates too)", () => {
    const other = UDP.replaceAll('br-0123456789ab', 'br-other');
    assert.deepEqual(parseDnsInputRule(UDP), {
      bridge: 'br-0123456789ab',
      source: '10.1.2.0/24',
      destination: '10.1.2.1/32',
      protocol: 'udp',
      port: 53,
    });
    assert.equal(parseDnsInputRule('-A INPUT -i br-0123456789ab -j DROP'), undefined);
    assert.equal(parseDnsInputRule(UDP.replace('-A INPUT', '-A FORWARD')), undefined);
    assert.deepEqual(dnsInputRulesOf('br-0123456789ab', [UDP, TCP, UDP, other]), [
      `-D${UDP.slice(2)}`,
      `-D${TCP.slice(2)}`,
      `-D${UDP.slice(2)}`,
    ]);
    assert.deepEqual(dnsInputBridges([UDP, other, '-A INPUT -j ACCEPT']), ['br-0123456789ab', 'br-other']);
  });

  it("dns_bind_port: INPUT accepts the resolver's port; nat PREROUTING takes gateway:53 there, per gateway and transport, as iptables -S prints them", () => {
    const spec = dnsInputSpecOf(
      network([[{ subnet: '10.1.2.0/24', gateway: '10.1.2.1' }], [{ subnet: 'fd00:0:0:1::/64', gateway: 'fd00:0:0:1::1' }]]),
      44253,
    )!;
    assert.equal(spec.port, 44253);
    assert.deepEqual(dnsInputRules(spec, 4), [UDP.replace('--dport 53', '--dport 44253'), TCP.replace('--dport 53', '--dport 44253')]);
    assert.deepEqual(dnsDnatRules(spec, 4), [
      '-A PREROUTING -d 10.1.2.1/32 -i br-0123456789ab -p udp -m udp --dport 53 -m comment --comment tsnerd-dns -j DNAT --to-destination 10.1.2.1:44253',
      '-A PREROUTING -d 10.1.2.1/32 -i br-0123456789ab -p tcp -m tcp --dport 53 -m comment --comment tsnerd-dns -j DNAT --to-destination 10.1.2.1:44253',
    ]);
    assert.deepEqual(dnsDnatRules(spec, 6), [
      '-A PREROUTING -d fd00:0:0:1::1/128 -i br-0123456789ab -p udp -m udp --dport 53 -m comment --comment tsnerd-dns -j DNAT --to-destination [fd00:0:0:1::1]:44253',
      '-A PREROUTING -d fd00:0:0:1::1/128 -i br-0123456789ab -p tcp -m tcp --dport 53 -m comment --comment tsnerd-dns -j DNAT --to-destination [fd00:0:0:1::1]:44253',
    ]);
    // One DNAT per gateway, not per (subnet, gateway) pair.
    const two = dnsInputSpecOf(
      network([[{ subnet: '10.1.2.0/24', gateway: '10.1.2.1' }], [{ subnet: '10.1.3.0/24', gateway: '10.1.3.1' }]]),
      5353,
    )!;
    assert.equal(dnsDnatRules(two, 4).length, 4);
    assert.deepEqual(dnsDnatRules({ ...spec, port: 53 }, 4), [], 'none on port 53');
  });

  it('DNAT rules: inserted at the top of PREROUTING (before the portmap jump) where missing; read back and deleted per bridge', () => {
    const spec = dnsInputSpecOf(network([[{ subnet: '10.1.2.0/24', gateway: '10.1.2.1' }]]), 44253)!;
    const [udp, tcp] = dnsDnatRules(spec, 4) as [string, string];
    const portmap = '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT';
    assert.deepEqual(missingDnsDnatRules(spec, 4, ['-P PREROUTING ACCEPT', portmap]), [
      `-I PREROUTING 1${udp.slice('-A PREROUTING'.length)}`,
      `-I PREROUTING 1${tcp.slice('-A PREROUTING'.length)}`,
    ]);
    assert.deepEqual(missingDnsDnatRules(spec, 4, [udp, portmap]), [`-I PREROUTING 1${tcp.slice('-A PREROUTING'.length)}`]);
    assert.deepEqual(missingDnsDnatRules(spec, 4, [udp, tcp]), []);
    // A DNAT to another port (the setting changed) is not this spec's.
    assert.equal(missingDnsDnatRules(spec, 4, [udp.replace(':44253', ':5353'), tcp.replace(':44253', ':5353')]).length, 2);
    assert.equal(missingDnsDnatRules(spec, 4, [udp.replace('tsnerd-dns', 'other')]).length, 2, "another tool's rule is not ours");
    assert.deepEqual(parseDnsDnatRule(udp), {
      bridge: 'br-0123456789ab',
      destination: '10.1.2.1/32',
      protocol: 'udp',
      to: '10.1.2.1:44253',
    });
    assert.equal(parseDnsDnatRule(portmap), undefined);
    assert.equal(parseDnsDnatRule(UDP), undefined, 'an INPUT rule is not a DNAT rule');
    assert.equal(parseDnsInputRule(udp), undefined, 'nor the other way round');
    const other = udp.replaceAll('br-0123456789ab', 'br-other');
    assert.deepEqual(dnsDnatRulesOf('br-0123456789ab', [udp, other, tcp, udp, portmap]), [
      `-D${udp.slice(2)}`,
      `-D${tcp.slice(2)}`,
      `-D${udp.slice(2)}`,
    ]);
    assert.deepEqual(dnsDnatBridges([portmap, udp, other, tcp]), ['br-0123456789ab', 'br-other']);
  });

  it('canonical subnets: host bits cleared, IPv6 compressed and lower case', () => {
    assert.equal(canonicalCidr('10.1.2.7/24'), '10.1.2.0/24');
    assert.equal(canonicalCidr('FD00:0000::1:2/64'), 'fd00::/64');
    assert.equal(canonicalCidr('fd00:1:2:3:4:5:6:7/112'), 'fd00:1:2:3:4:5:6:0/112');
    assert.equal(canonicalCidr('10.1.2.0/33'), undefined);
    assert.equal(canonicalCidr('nope/8'), undefined);
  });
});
