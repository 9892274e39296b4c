import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cniChainName, ipMasqJump, ipMasqSetupScript, ipMasqTeardownScript } from '../../../src/domain/netfilter/ipmasq.ts';

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

  it('setup script (network reload) makes the chain as the bridge plugin does: each rule once, only the missing jumps', () => {
    const chain = cniChainName('n1', 'default-abc');
    const c = '-m comment --comment "name: \\"n1\\" id: \\"default-abc\\""';
    assert.equal(
      ipMasqSetupScript('n1', 'default-abc', ['10.4.0.5/24', '10.4.0.6/24'], ['10.4.0.6']),
      [
        '*nat',
        `:${chain} - [0:0]`,
        `-A ${chain} -d 10.4.0.5/24 ${c} -j ACCEPT`,
        `-A ${chain} ! -d 224.0.0.0/4 ${c} -j MASQUERADE`,
        `-A ${chain} -d 10.4.0.6/24 ${c} -j ACCEPT`,
        `-A POSTROUTING -s 10.4.0.6/32 ${c} -j ${chain}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    assert.match(ipMasqSetupScript('n1', 'default-abc', ['fd00::5/64'], []), /! -d ff00::\/8 .* -j MASQUERADE/);
    assert.deepEqual(ipMasqJump('n1', 'default-abc', 'fd00::5'), [
      '-s',
      'fd00::5/128',
      '-m',
      'comment',
      '--comment',
      'name: "n1" id: "default-abc"',
      '-j',
      chain,
    ]);
  });
});
