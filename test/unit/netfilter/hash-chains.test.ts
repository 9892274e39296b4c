import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashChainName, hashChainRemoval, hashChainsOf, removableHashChains } from '../../../src/domain/netfilter/hash-chains.ts';

const ID = `default-${'a'.repeat(64)}`;
const OTHER = `default-${'b'.repeat(64)}`;
const tag = (net: string, id: string) => `-m comment --comment "name: \\"${net}\\" id: \\"${id}\\""`;

describe('per-container hash chains', () => {
  it('names them as the CNI plugins do (vectors from openssl dgst -sha512)', () => {
    // sha512("test1234") starts 2bbe0c48b91a7d1b8a6753a8; sha512("bridge" + ID) starts b1a33de0275682428bb3fd2d
    assert.equal(hashChainName('test', '1234'), 'CNI-2bbe0c48b91a7d1b8a6753a8');
    assert.deepEqual(hashChainsOf('bridge', ID), [
      { kind: 'masquerade', chain: 'CNI-b1a33de0275682428bb3fd2d' },
      { kind: 'dnat', chain: 'CNI-DN-b1a33de0275682428bb3f' },
      { kind: 'snat', chain: 'CNI-SN-b1a33de0275682428bb3f' },
    ]);
    for (const { chain } of hashChainsOf('a-network-name-longer-than-twenty-eight', ID)) assert.equal(chain.length, 28);
  });

  it('finds an empty chain of a container, and not the same-shaped chain of another ID', () => {
    const sn = hashChainName('bridge', ID, 'SN-');
    const foreign = hashChainName('bridge', OTHER, 'SN-');
    const listing = ['-P PREROUTING ACCEPT', `-N ${sn}`, `-N ${foreign}`, ''].join('\n');
    const found = removableHashChains(listing, [{ network: 'bridge', cniId: ID }]);
    assert.deepEqual(found, [{ network: 'bridge', cniId: ID, chain: sn, kind: 'snat', rules: [], references: [] }]);
    assert.deepEqual(hashChainRemoval(found), [`-F ${sn}`, `-X ${sn}`]);
  });

  it("takes the container's own rules in and to a chain with it", () => {
    const masq = hashChainName('n1', ID);
    const dn = hashChainName('n1', ID, 'DN-');
    const jump = `-A POSTROUTING -s 10.4.0.5/32 ${tag('n1', ID)} -j ${masq}`;
    const inMasq = `-A ${masq} -d 10.4.0.0/24 ${tag('n1', ID)} -j ACCEPT`;
    const entry = `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"n1\\" id: \\"${ID}\\"" -m multiport --dports 80 -j ${dn}`;
    const dnat = `-A ${dn} -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.4.0.5:80`;
    const listing = [`-N ${masq}`, `-N ${dn}`, jump, inMasq, entry, dnat].join('\n');
    const found = removableHashChains(listing, [{ network: 'n1', cniId: ID }]);
    assert.deepEqual(
      found.map((c) => [c.chain, c.rules, c.references]),
      [
        [masq, [inMasq], [jump]],
        [dn, [dnat], [entry]],
      ],
    );
    assert.deepEqual(hashChainRemoval(found), [
      `-D${jump.slice(2)}`,
      `-D${entry.slice(2)}`,
      `-F ${masq}`,
      `-X ${masq}`,
      `-F ${dn}`,
      `-X ${dn}`,
    ]);
  });

  it('keeps a chain another container or an untagged rule refers to, or that holds another container’s rule', () => {
    const masq = hashChainName('n1', ID);
    const owner = [{ network: 'n1', cniId: ID }];
    const keptFor = (...rules: string[]) => removableHashChains([`-N ${masq}`, ...rules].join('\n'), owner);
    assert.deepEqual(keptFor(`-A POSTROUTING -s 10.4.0.6/32 ${tag('n1', OTHER)} -j ${masq}`), []);
    assert.deepEqual(keptFor(`-A POSTROUTING -s 10.4.0.6/32 -j ${masq}`), []);
    assert.deepEqual(keptFor(`-A OUTPUT -g ${masq}`), []);
    assert.deepEqual(keptFor(`-A ${masq} ${tag('n2', ID)} -j MASQUERADE`), []);
    // a chain whose name only starts like it is another chain
    assert.equal(keptFor(`-A POSTROUTING -j ${masq}X`).length, 1);
  });
});
