import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkGc } from '../../../src/app/reclaim/network-gc.ts';
import { fakeReclaimDeps, inventoryOf } from './fake-deps.ts';
import type { CachedAttachment } from '../../../src/interfaces/cni.ts';
import type { InventoryContainer } from '../../../src/interfaces/container-inventory.ts';
import { networkFromConflist } from '../../../src/domain/network/network.ts';
import type { AnyConflist } from '../../../src/domain/network/conflist-schema.ts';

const ID = 'c'.repeat(64);
const DIR = `/s/containers/ns/${ID}`;
const CONFLIST = { cniVersion: '1.0.0', name: 'n2', plugins: [{ type: 'bridge', bridge: 'br-n2', ipam: { type: 'host-local' } }] };

/** gc over one running container of ours with attachments on eth0 and eth1; `recorded`: the interfaces its endpoints.json names. */
function fixture(recorded: string[] | undefined, c: Partial<InventoryContainer> = {}) {
  const dels: string[] = [];
  const container: InventoryContainer = {
    namespace: 'ns',
    id: ID,
    labels: { 'tsnerd/state-dir': DIR },
    task: { status: 'running', pid: 4242 },
    ...c,
  };
  const attachment = (ifName: string): CachedAttachment =>
    ({
      networkName: 'n2',
      containerId: `ns-${ID}`,
      ifName,
      config: JSON.stringify(CONFLIST),
      result: { cniVersion: '1.0.0', ips: [{ address: ifName === 'eth0' ? '10.9.0.2/24' : '10.9.0.3/24' }] },
    }) as unknown as CachedAttachment;
  const deps = fakeReclaimDeps({
    inventory: inventoryOf([container]),
    networks: async () => [networkFromConflist('/c/nerdctl-n2.conflist', CONFLIST as unknown as AnyConflist)],
    cni: {
      getCachedAttachments: async () => [attachment('eth0'), attachment('eth1')],
      delNetworkList: async (_list: unknown, rt: { ifName: string; netns: string }) => void dels.push(`${rt.ifName} ${rt.netns}`),
    },
    recordedInterfaces: async (dir: string) => (dir === DIR ? recorded : undefined),
  });
  return { deps, dels };
}

describe('network gc: attachments of a running container its record does not name', () => {
  it('DELs one (a network connect killed after its ADD) in the container netns, and lists it', async () => {
    const { deps, dels } = fixture(['eth0']);
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(dels, ['eth1 /proc/4242/ns/net']);
    assert.deepEqual(
      items.filter((i) => i.kind === 'cni-attachment'),
      [{ kind: 'cni-attachment', item: 'n2 eth1 10.9.0.3', container: ID.slice(0, 12) }],
    );
  });

  it('leaves recorded ones, a container without a record, one not running, and DELs nothing in a dry run', async () => {
    for (const [recorded, c, dryRun] of [
      [['eth0', 'eth1'], {}, false],
      [undefined, {}, false],
      [['eth0'], { task: { status: 'created', pid: 4242 } }, false],
      [['eth0'], {}, true],
    ] as const) {
      const { deps, dels } = fixture(recorded as string[] | undefined, c as Partial<InventoryContainer>);
      const { items } = await networkGc(deps, { dryRun });
      assert.deepEqual(dels, [], JSON.stringify([recorded, c, dryRun]));
      assert.equal(items.filter((i) => i.kind === 'cni-attachment').length, dryRun ? 1 : 0);
    }
  });
});
