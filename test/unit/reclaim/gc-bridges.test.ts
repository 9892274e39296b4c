import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkGc } from '../../../src/app/reclaim/network-gc.ts';
import type { ReclaimDeps } from '../../../src/app/reclaim/deps.ts';
import type { OwnBridge } from '../../../src/interfaces/bridge-registry.ts';

/** gc over an empty host but for recorded bridges: what it does to them, and whether under the CNI lock. */
function fixture(records: OwnBridge[]) {
  const events: string[] = [];
  let locked = false;
  const mark = (what: string) => events.push(`${what}${locked ? ' (locked)' : ''}`);
  const deps = {
    inventory: { list: async () => ({ namespaces: [], containers: [], daemonStartedAt: undefined, snapshotLeases: [] }) },
    networks: async () => [],
    cni: { getCachedAttachments: async () => [] },
    hostCni: {
      allocations: async () => [],
      taggedRules: async () => [],
      isIdleBridge: async (link: string) => (mark(`idle? ${link}`), true),
      linkExists: async () => true,
      deleteLink: async (link: string) => mark(`delete ${link}`),
      removeHostLocalDir: async (network: string, dataDir: string | undefined) => mark(`host-local dir ${network} ${dataDir ?? 'default'}`),
    },
    reserver: { reconcile: async () => [] },
    hosts: { list: async () => [] },
    dns: { containers: async () => [], ensureServing: async () => undefined },
    store: { names: async () => [], stateDirs: async () => [], hostsDirs: async () => [] },
    bridges: {
      record: async () => async () => undefined,
      list: async () => (mark('records'), records),
      forget: async (link: string, file: string) => mark(`forget ${link} ${file}`),
    },
    storeRoot: '/s',
    removeIpMasqChain: async () => undefined,
    removeStaleHookServerFiles: async () => [],
    removeStaleCliServerFiles: async () => [],
    withCniLock: async <T>(fn: () => Promise<T>): Promise<T> => {
      locked = true;
      try {
        return await fn();
      } finally {
        locked = false;
      }
    },
    now: () => new Date(),
    graceMs: 60_000,
  } as unknown as ReclaimDeps;
  return { deps, events };
}

describe('network gc: bridges of hand-removed networks', () => {
  it('reads the records, checks and deletes an idle bridge under the CNI lock (no ADD between check and delete)', async () => {
    const { deps, events } = fixture([{ link: 'br-fx', network: 'fx', file: '/c/ns/nerdctl-fx.conflist', conflistPresent: false }]);
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(items, [{ kind: 'bridge', item: 'br-fx (fx)', container: '' }]);
    assert.deepEqual(events, [
      'records (locked)',
      'idle? br-fx (locked)',
      'delete br-fx (locked)',
      'forget br-fx /c/ns/nerdctl-fx.conflist (locked)',
      'host-local dir fx default (locked)',
    ]);
  });

  it('keeps a link whose name another namespace still has a conflist for, and deletes one whose conflists are all gone', async () => {
    const { deps, events } = fixture([
      { link: 'br-fx', network: 'fx', file: '/c/a/nerdctl-fx.conflist', conflistPresent: false },
      { link: 'br-fx', network: 'fx', file: '/c/b/nerdctl-fx.conflist', conflistPresent: true },
      { link: 'br-fy', network: 'fy', file: '/c/a/nerdctl-fy.conflist', conflistPresent: false },
      { link: 'br-fy', network: 'fy', file: '/c/b/nerdctl-fy.conflist', conflistPresent: false },
    ]);
    const { items } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(items, [{ kind: 'bridge', item: 'br-fy (fy)', container: '' }]);
    assert.deepEqual(
      events.filter((e) => !e.startsWith('records')),
      [
        'idle? br-fy (locked)',
        'delete br-fy (locked)',
        'forget br-fy /c/a/nerdctl-fy.conflist (locked)',
        'forget br-fy /c/b/nerdctl-fy.conflist (locked)',
        'host-local dir fy default (locked)',
      ],
    );
  });
});
