/**
 * The firewall plugin's per-address rules in CNI-FORWARD that `network gc` removes
 * (domain/netfilter/firewall-stale.ts): found by address inside tsnerd's subnets, all copies
 * of an address no live container holds, the copies past the first of a held one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressSet, firewallRuleAddress, staleFirewallRules } from '../../../src/domain/netfilter/firewall-stale.ts';

const set = (...ips: string[]) => {
  const held = new AddressSet();
  for (const ip of ips) held.add(ip);
  return held;
};

const rules = (ip: string, bits = 32) => [
  `-A CNI-FORWARD -d ${ip}/${bits} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  `-A CNI-FORWARD -s ${ip}/${bits} -j ACCEPT`,
];
const listing = (...lines: string[][]) =>
  ['-N CNI-FORWARD', '-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN', ...lines.flat(), ''].join(
    '\n',
  );

describe('stale firewall plugin rules', () => {
  it("reads the address of each of the plugin's two rules, and nothing else", () => {
    const [d, s] = rules('10.241.0.5');
    assert.equal(firewallRuleAddress(d!), '10.241.0.5');
    assert.equal(firewallRuleAddress(s!), '10.241.0.5');
    assert.equal(firewallRuleAddress(rules('fd00::5', 128)[1]!), 'fd00::5');
    for (const other of [
      '-A CNI-FORWARD -s 10.241.0.5/32 -j DROP',
      '-A CNI-FORWARD -s 10.241.0.0/24 -j ACCEPT',
      '-A CNI-FORWARD -s 10.241.0.5/32 -p tcp -j ACCEPT',
      '-A CNI-FORWARD -d 10.241.0.5/32 -j ACCEPT',
      '-A FORWARD -s 10.241.0.5/32 -j ACCEPT',
      '-A CNI-FORWARD -s fd00::5/32 -j ACCEPT',
      '-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
    ])
      assert.equal(firewallRuleAddress(other), undefined, other);
  });

  it('takes every copy of an address no one holds, inside the subnets only', () => {
    const found = staleFirewallRules(listing(rules('10.241.1.7'), rules('10.241.1.7'), rules('10.99.0.7')), ['10.241.1.0/24'], set());
    assert.deepEqual(found, [{ address: '10.241.1.7', held: false, rules: [...rules('10.241.1.7'), ...rules('10.241.1.7')].sort(byKind) }]);
  });

  it('keeps one copy of each rule of a held address, and takes the rest', () => {
    const [d, s] = rules('10.241.1.8');
    const found = staleFirewallRules(
      listing(rules('10.241.1.8'), [d!], rules('10.241.1.9')),
      ['10.241.1.0/24'],
      set('10.241.1.8', '10.241.1.9'),
    );
    assert.deepEqual(found, [{ address: '10.241.1.8', held: true, rules: [d!] }]);
    assert.ok(s);
  });

  it('matches held IPv6 addresses whatever their spelling', () => {
    const held = set('fd41:0:0:0::5/64');
    const found = staleFirewallRules(listing(rules('fd41::5', 128), rules('fd41::6', 128)), ['fd41::/64'], held);
    assert.deepEqual(
      found.map((f) => f.address),
      ['fd41::6'],
    );
  });

  it('finds nothing without subnets or in an empty listing', () => {
    assert.deepEqual(staleFirewallRules(listing(rules('10.241.1.7')), [], set()), []);
    assert.deepEqual(staleFirewallRules('', ['10.241.1.0/24'], set()), []);
  });
});

function byKind(a: string, b: string): number {
  return a.includes(' -d ') === b.includes(' -d ') ? 0 : a.includes(' -d ') ? -1 : 1;
}
