import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkGc } from '../../../src/app/reclaim/network-gc.ts';
import { fakeReclaimDeps, inventoryOf } from './fake-deps.ts';
import type { OwnBridge } from '../../../src/interfaces/bridge-registry.ts';

/** gc over an empty host but for recorded bridges (and `isolated`: bridges with isolation rules): what it does to them, and whether under the CNI lock. */
function fixture(records: OwnBridge[], opts: { isolated?: string[]; links?: string[] } = {}) {
  const events: string[] = [];
  let locked = false;
  const mark = (what: string) => events.push(`${what}${locked ? ' (locked)' : ''}`);
  const deps = fakeReclaimDeps({
    inventory: inventoryOf([], []),
    hostCni: {
      isIdleBridge: async (link: string) => (mark(`idle? ${link}`), opts.links?.includes(link) ?? true),
      linkExists: async (link: string) => opts.links?.includes(link) ?? true,
      deleteLink: async (link: string) => mark(`delete ${link}`),
      isolatedBridges: async () => new Set(opts.isolated ?? []),
      removeBridgeRules: async (link: string) => mark(`isolation rules ${link}`),
      removeHostLocalDir: async (network: string, dataDir: string | undefined) => mark(`host-local dir ${network} ${dataDir ?? 'default'}`),
    },
    bridges: {
      record: async () => async () => undefined,
      list: async () => (mark('records'), records),
      forget: async (link: string, file: string) => mark(`forget ${link} ${file}`),
    },
    withCniLock: async <T>(fn: () => Promise<T>): Promise<T> => {
      locked = true;
      try {
        return await fn();
      } finally {
        locked = false;
      }
    },
  });
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
      'isolation rules br-fx (locked)',
      'forget br-fx /c/ns/nerdctl-fx.conflist (locked)',
      'host-local dir fx default (locked)',
    ]);
  });

  it("removes the isolation rules of its own bridges that are gone, and no other tool's", async () => {
    const { deps, events } = fixture([{ link: 'br-gone', network: 'gone', file: '/c/ns/nerdctl-gone.conflist', conflistPresent: false }], {
      isolated: ['br-gone', 'br-kept', 'br-other'],
      links: ['br-kept'],
    });
    (deps as { networks: unknown }).networks = async () => [
      { name: 'kept', conflist: { plugins: [{ type: 'bridge', bridge: 'br-kept', ipam: { type: 'host-local' } }] } },
    ];
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(items, [{ kind: 'iptables-rules', item: 'isolation of bridge br-gone', container: '' }]);
    assert.ok(events.includes('isolation rules br-gone (locked)'), events.join('\n'));
    assert.ok(!events.some((e) => e.includes('br-kept') || e.includes('br-other')), events.join('\n'));
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
        'isolation rules br-fy (locked)',
        'forget br-fy /c/a/nerdctl-fy.conflist (locked)',
        'forget br-fy /c/b/nerdctl-fy.conflist (locked)',
        'host-local dir fy default (locked)',
      ],
    );
  });
});

describe('network gc: DNS rules of bridges that are gone', () => {
  it("removes the DNS rules of a bridge this store made them for (or of its own networks) once it is gone, and no other's", async () => {
    const events: string[] = [];
    const deps = fakeReclaimDeps({
      inventory: inventoryOf([], []),
      hostCni: {
        linkExists: async (link: string) => link === 'br-live',
        isolatedBridges: async () => new Set(['br-made']),
        dnsRuleBridges: async () => new Set(events.some((e) => e.startsWith('rules')) ? [] : ['br-made', 'br-live', 'br-else']),
        removeBridgeRules: async (link: string) => void events.push(`rules ${link}`),
      },
      dns: {
        ruleBridges: async () => ['br-made', 'br-live', 'br-bare'],
        forgetRules: async (bridges: readonly string[]) => void events.push(`forget ${bridges.join(' ')}`),
      },
    });
    const dry = await networkGc(deps, { dryRun: true });
    assert.deepEqual(dry.items, [{ kind: 'iptables-rules', item: 'isolation and DNS rules of bridge br-made', container: '' }]);
    assert.deepEqual(events, [], 'a dry run changes nothing');
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(items, dry.items);
    // br-else: another store's (or tool's) bridge, gone or not; br-bare: remembered, gone, no rules left: forgotten quietly.
    assert.deepEqual(events, ['rules br-made', 'forget br-made br-bare']);
  });
});
