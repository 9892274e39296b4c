import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextCidr, parseCidr } from '../../../src/domain/network/cidr.ts';
import { assertNoOverlap, pickFreeSubnet } from '../../../src/domain/network/subnet-pick.ts';
import { cidrs } from './helpers.ts';

describe('automatic subnets', () => {
  it('steps /24s and carries into the second octet', () => {
    assert.equal(nextCidr(parseCidr('10.4.1.0/24')!)?.text, '10.4.2.0/24');
    assert.equal(nextCidr(parseCidr('10.4.255.0/24')!)?.text, '10.5.0.0/24');
    assert.equal(nextCidr(parseCidr('255.255.255.0/24')!), undefined);
  });

  it('starts at 10.4.1.0/24, leaving the default network its 10.4.0.0/24', () => {
    assert.equal(pickFreeSubnet([]).text, '10.4.1.0/24');
  });

  it('skips subnets used by networks and by host interfaces', () => {
    const used = cidrs('10.4.1.0/24', '10.4.2.0/24', '10.4.3.7/16' /* a host address: covers 10.4.x */, '10.5.0.0/24');
    assert.equal(pickFreeSubnet(used).text, '10.5.1.0/24');
  });

  it('treats a wider host network as overlapping every /24 inside it', () => {
    assert.equal(pickFreeSubnet(cidrs('10.4.0.0/15')).text, '10.6.0.0/24');
  });

  it('ignores IPv6 networks', () => {
    assert.equal(pickFreeSubnet(cidrs('fd00::/8', '::/0')).text, '10.4.1.0/24');
  });

  it("refuses an explicit subnet overlapping a used one, with nerdctl's message", () => {
    assert.throws(() => assertNoOverlap(parseCidr('10.202.0.0/16')!, cidrs('10.202.7.1/24')), {
      message: 'subnet 10.202.0.0/16 overlaps with other one on this address space',
    });
    assert.doesNotThrow(() => assertNoOverlap(parseCidr('10.202.0.0/24')!, cidrs('10.202.1.0/24')));
  });
});
