import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkGc } from '../../../src/app/reclaim/network-gc.ts';
import { fakeReclaimDeps, inventoryOf } from './fake-deps.ts';
import type { HashChain } from '../../../src/interfaces/cni-host-state.ts';
import type { ChainOwner } from '../../../src/domain/netfilter/hash-chains.ts';
import { networkFromConflist } from '../../../src/domain/network/network.ts';
import type { InventoryContainer } from '../../../src/interfaces/container-inventory.ts';

const ID = 'a'.repeat(64);
const LIVE = 'b'.repeat(64);
const OTHERS = 'c'.repeat(64);
const chain = (cniId: string, extra: Partial<HashChain> = {}): HashChain => ({
  tool: 'iptables',
  network: 'n1',
  cniId,
  chain: 'CNI-SN-0123456789abcdef01234',
  kind: 'snat',
  rules: [],
  references: [],
  ...extra,
});

/** gc over three containers of namespace ns (a stopped one of ours, a running one, another tool's stopped one) on network n1. */
function fixture(found: HashChain[]) {
  const asked: ChainOwner[][] = [];
  const container = (id: string, running: boolean, labels: Record<string, string>): InventoryContainer => ({
    namespace: 'ns',
    id,
    labels,
    task: { status: running ? 'running' : 'stopped', pid: 7 },
  });
  const deps = fakeReclaimDeps({
    inventory: inventoryOf([
      container(ID, false, { 'tsnerd/state-dir': `/s/containers/ns/${ID}` }),
      container(LIVE, true, { 'tsnerd/state-dir': `/s/containers/ns/${LIVE}` }),
      container(OTHERS, false, { 'io.cri-containerd.kind': 'sandbox' }),
    ]),
    networks: async () => [
      networkFromConflist('/c/n1.conflist', { cniVersion: '1.0.0', name: 'n1', plugins: [{ type: 'bridge', bridge: 'br-n1' }] }),
    ],
    hostCni: {
      hashChains: async (owners: ChainOwner[]) => (asked.push(owners), found),
      removeHashChains: async (owners: ChainOwner[]) => (asked.push(owners), found),
      isIdleBridge: async () => false,
      linkExists: async () => true,
    },
  });
  return { deps, asked };
}

describe('network gc: per-container hash chains', () => {
  it("removes those of its dead containers on its networks, and asks about no live or other tool's container", async () => {
    const { deps, asked } = fixture([chain(`ns-${ID}`)]);
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(asked, [[{ network: 'n1', cniId: `ns-${ID}` }]]);
    assert.deepEqual(
      items.filter((i) => i.kind === 'iptables-chain'),
      [{ kind: 'iptables-chain', item: 'nat CNI-SN-0123456789abcdef01234 (n1)', container: ID.slice(0, 12) }],
    );
  });

  it('a dry run lists them, but not one that its rules jump to (the rules are listed, and go with it)', async () => {
    const { deps } = fixture([chain(`ns-${ID}`, { tool: 'ip6tables' }), chain(`ns-${ID}`, { references: ['-A POSTROUTING -j X'] })]);
    const { items } = await networkGc(deps, { dryRun: true });
    assert.deepEqual(
      items.filter((i) => i.kind === 'iptables-chain').map((i) => i.item),
      ['ip6 nat CNI-SN-0123456789abcdef01234 (n1)'],
    );
  });
});
