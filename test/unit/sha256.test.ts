import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { sha256Hex, sha512Hex } from '../../src/domain/sha256.ts';
import { cniChainName } from '../../src/domain/netfilter/ipmasq.ts';
import { addressHash } from '../../src/domain/settings.ts';
import { networkId } from '../../src/domain/network/network-name.ts';

const nodeSha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('sha256Hex (no node:crypto in the hook)', () => {
  it("gives node:crypto's digest at every padding boundary and for non-ASCII text", () => {
    for (let n = 0; n <= 200; n++) assert.equal(sha256Hex('x'.repeat(n)), nodeSha256('x'.repeat(n)), `length ${n}`);
    for (const s of ['', 'abc', 'é日本語', '\u0000\uffff', 'unix:///run/containerd/containerd.sock'])
      assert.equal(sha256Hex(s), nodeSha256(s));
  });

  it("gives node:crypto's digest for random strings", () => {
    for (let i = 0; i < 500; i++) {
      const s = randomBytes(i % 150).toString('latin1');
      assert.equal(sha256Hex(s), nodeSha256(s));
    }
  });

  it('keeps the data store hash and network IDs as they were', () => {
    assert.equal(addressHash('unix:///run/containerd/containerd.sock'), nodeSha256('/run/containerd/containerd.sock').slice(0, 8));
    assert.equal(networkId('bridge'), nodeSha256('bridge'));
  });

  it("gives node:crypto's SHA-512, and the plugins' masquerade chain name", () => {
    for (let i = 0; i < 300; i++) {
      const s = randomBytes(i % 300).toString('latin1');
      assert.equal(sha512Hex(s), createHash('sha512').update(s).digest('hex'));
    }
    assert.equal(
      cniChainName('bridge', 'default-abc'),
      `CNI-${createHash('sha512').update('bridgedefault-abc').digest('hex')}`.slice(0, 28),
    );
  });
});
