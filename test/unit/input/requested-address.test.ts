import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequestedAddress } from '../../../src/domain/network/requested-address.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

const net = {
  name: 'inp-a',
  subnets: [{ subnet: '10.213.5.0/24', gateway: '10.213.5.1', ipRange: '10.213.5.128/25' }],
};

const refused: Array<[string, '--ip' | '--ip6', string, string]> = [
  ['the gateway', '--ip', '10.213.5.1', '--ip "10.213.5.1" is the gateway of network "inp-a"'],
  ['the network address', '--ip', '10.213.5.0', '--ip "10.213.5.0" is the network address of 10.213.5.0/24 on network "inp-a"'],
  ['the broadcast address', '--ip', '10.213.5.255', '--ip "10.213.5.255" is the broadcast address of 10.213.5.0/24 on network "inp-a"'],
  ['an address outside the subnet', '--ip', '10.213.6.3', '--ip "10.213.6.3" is outside the subnets of network "inp-a" (10.213.5.0/24)'],
  ['an address outside the ip-range', '--ip', '10.213.5.3', '--ip "10.213.5.3" is outside the ip-range 10.213.5.128/25 of network "inp-a"'],
  ['--ip6 on an IPv4-only network', '--ip6', 'fd00::3', '--ip6 "fd00::3" needs an IPv6 subnet: network "inp-a" has none'],
];

describe('checkRequestedAddress', () => {
  for (const [what, flag, value, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => checkRequestedAddress(flag, value, net),
        (e) => isTsnerdError(e, 'invalid') && e.message === message,
      );
    });
  }
  it('accepts an address of the ip-range', () => checkRequestedAddress('--ip', '10.213.5.130', net));
  it('checks nothing without known subnets (dhcp)', () => checkRequestedAddress('--ip', '10.0.0.1', { name: 'd', subnets: [] }));
});
