import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cniChainName, ipMasqTeardownScript } from '../../../src/domain/netfilter/ipmasq.ts';

describe('CNI masquerade chain', () => {
  it('is named like the plugins name it (CNI- + sha512 prefix, 28 chars)', () => {
    // sha512("bridge" + "default-abc") in hex, cut to 28 characters with the prefix.
    assert.equal(cniChainName('bridge', 'default-abc'), 'CNI-466f1999d83aab93c0e89823');
    assert.notEqual(cniChainName('bridge', 'default-abc'), cniChainName('bridge', 'default-abd'));
  });

  it('teardown script deletes the POSTROUTING rule, then flushes and deletes the chain', () => {
    const script = ipMasqTeardownScript('n1', 'default-abc', ['10.4.0.5']);
    const chain = cniChainName('n1', 'default-abc');
    assert.equal(
      script,
      `*nat\n-D POSTROUTING -s 10.4.0.5/32 -m comment --comment "name: \\"n1\\" id: \\"default-abc\\"" -j ${chain}\n-F ${chain}\n-X ${chain}\nCOMMIT\n`,
    );
  });
});
