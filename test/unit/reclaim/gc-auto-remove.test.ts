import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkGc } from '../../../src/app/reclaim/network-gc.ts';
import { fakeReclaimDeps, inventoryOf } from './fake-deps.ts';
import type { InventoryContainer } from '../../../src/interfaces/container-inventory.ts';

const ID = 'b'.repeat(64);
const DIR = `/s/containers/ns/${ID}`;

/** gc over one `run -d --rm` container of ours; `removed` records what gc removed. */
function fixture(c: Partial<InventoryContainer>, opts: { reaper?: boolean } = {}) {
  const removed: string[] = [];
  const container: InventoryContainer = {
    namespace: 'ns',
    id: ID,
    labels: { 'tsnerd/state-dir': DIR, 'tsnerd/name': 'web', 'tsnerd/auto-remove': 'true' },
    task: { status: 'stopped', pid: 0 },
    ...c,
  };
  const deps = fakeReclaimDeps({
    inventory: inventoryOf([container]),
    reapers: async () => new Set(opts.reaper ? [ID] : []),
    removeContainer: async (namespace: string, id: string) => void removed.push(`${namespace}/${id}`),
  });
  return { deps, removed };
}

describe('network gc: an exited run -d --rm container whose reaper is gone', () => {
  it('removes it, and lists it by name', async () => {
    const { deps, removed } = fixture({});
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(removed, [`ns/${ID}`]);
    assert.deepEqual(
      items.filter((i) => i.kind === 'container'),
      [{ kind: 'container', item: 'web', container: ID.slice(0, 12) }],
    );
  });

  it('leaves one whose reaper runs, one that runs or has no task, one without --rm, and removes nothing in a dry run', async () => {
    for (const [c, opts, dryRun] of [
      [{}, { reaper: true }, false],
      [{ task: { status: 'running', pid: 42 } }, {}, false],
      [{ task: undefined }, {}, false],
      [{ labels: { 'tsnerd/state-dir': DIR } }, {}, false],
      [{}, {}, true],
    ] as const) {
      const { deps, removed } = fixture(c as Partial<InventoryContainer>, opts);
      const { items } = await networkGc(deps, { dryRun });
      assert.deepEqual(removed, [], JSON.stringify([c, opts, dryRun]));
      assert.equal(items.filter((i) => i.kind === 'container').length, dryRun ? 1 : 0);
    }
  });
});
