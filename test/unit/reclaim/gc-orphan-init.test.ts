import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkGc } from '../../../src/app/reclaim/network-gc.ts';
import { fakeReclaimDeps, inventoryOf } from './fake-deps.ts';
import type { InventoryContainer } from '../../../src/interfaces/container-inventory.ts';

const ID = 'a'.repeat(64);
const DIR = `/s/containers/ns/${ID}`;

/** gc over one container of ours, whose state dir records the init the createRuntime hook saw. */
function fixture(c: Partial<InventoryContainer> | undefined, opts: { alive?: boolean; deadline?: number; shim?: number[] } = {}) {
  const killed: number[] = [];
  const container: InventoryContainer | undefined = c && {
    namespace: 'ns',
    id: ID,
    labels: { 'tsnerd/state-dir': DIR },
    task: undefined,
    ...c,
  };
  const deps = fakeReclaimDeps({
    inventory: inventoryOf(container ? [container] : []),
    store: {
      stateDirs: async () => [{ namespace: 'ns', id: ID, path: DIR, modifiedAt: new Date() }],
      startDeadline: async () => opts.deadline,
      initProcess: async () => ({ pid: 4242, start: '777' }),
    },
    processAlive: async (pid: number, start: string) => (opts.alive ?? true) && pid === 4242 && start === '777',
    killProcess: async (pid: number) => (killed.push(pid), true),
    shimPids: async () => opts.shim ?? [],
    killShim: async (pid: number) => void killed.push(pid),
  });
  return { deps, killed };
}

describe('network gc: the init of a container containerd lost', () => {
  it('kills the recorded init of a container without a task (containerd lost it while creating it)', async () => {
    const { deps, killed } = fixture({});
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(killed, [4242]);
    assert.deepEqual(
      items.filter((i) => i.kind === 'process'),
      [{ kind: 'process', item: 'init 4242', container: ID.slice(0, 12) }],
    );
  });

  it('kills it too when containerd has no record of the container any more', async () => {
    const { deps, killed } = fixture(undefined);
    await networkGc(deps, { dryRun: false });
    assert.deepEqual(killed, [4242]);
  });

  it('leaves a running task, a start in flight, a process that is gone, and kills nothing in a dry run', async () => {
    for (const [c, opts, dryRun] of [
      [{ task: { status: 'running', pid: 4242 } }, {}, false],
      [{}, { deadline: Date.now() + 60_000 }, false],
      [{}, { alive: false }, false],
      [{}, {}, true],
    ] as const) {
      const { deps, killed } = fixture(c as Partial<InventoryContainer>, opts);
      const { items } = await networkGc(deps, { dryRun });
      assert.deepEqual(killed, []);
      assert.equal(items.filter((i) => i.kind === 'process').length, dryRun ? 1 : 0);
    }
  });

  it("kills the shim of a task containerd does not list, never a listed (stopped) task's", async () => {
    const lost = fixture({}, { shim: [99] });
    const { items } = await networkGc(lost.deps, { dryRun: false });
    assert.deepEqual(lost.killed, [4242, 99]);
    assert.deepEqual(
      items.filter((i) => i.kind === 'process').map((i) => i.item),
      ['init 4242', 'shim 99'],
    );
    const stopped = fixture({ task: { status: 'stopped', pid: 0 } }, { shim: [99], alive: false });
    await networkGc(stopped.deps, { dryRun: false });
    assert.deepEqual(stopped.killed, []);
  });
});
