import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockScope, registerLockFiles, setLockScopeProvider, shareLockHelper, withFlock } from '../../../src/adapters/store/flock.ts';
import { PerlHelper, PerlHelperUnavailable } from '../../../src/adapters/host/perl-helper.ts';
import { runProcess } from '../../../src/adapters/host/run-process.ts';
import { children, othersCanLock } from './lock-probes.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsnerd-flock-shared-'));
const file = (name: string) => join(dir, name);
for (const n of ['a', 'b', 'c', 'kept', 'child']) writeFileSync(file(n), '');
mkdirSync(file('store-dir'));

// As the hook server: one scope per request, one helper for all of them.
const context = new AsyncLocalStorage<LockScope>();
setLockScopeProvider(() => context.getStore());
shareLockHelper();

/** Runs fn in a new scope that registered `paths`, and ends the scope after it (as the server ends a request). */
async function inScope<T>(paths: string[], fn: () => Promise<T>): Promise<T> {
  const scope = new LockScope();
  try {
    return await context.run(scope, async () => {
      registerLockFiles(paths);
      return fn();
    });
  } finally {
    scope.close();
  }
}

describe('one lock helper shared by the scopes of a process (the hook server)', () => {
  it('takes each scope’s registered locks on its own descriptors, with no perl start per scope', async () => {
    await inScope([file('a'), file('store-dir')], async () => {
      await withFlock(file('a'), async () => {
        assert.equal(othersCanLock(file('a'), '-s'), false);
        assert.deepEqual(children('flock'), [], 'taken by the helper, not by flock(1)');
      });
      assert.equal(othersCanLock(file('a'), '-x'), true);
    });
    const helpers = children();
    assert.equal(helpers.length, 1);
    for (let i = 0; i < 3; i++) {
      await inScope([file('b'), file('store-dir')], async () => {
        await withFlock(file('store-dir'), async () => assert.equal(othersCanLock(file('store-dir'), '-s'), false), { directory: true });
        await withFlock(
          file('b'),
          async () => {
            assert.equal(othersCanLock(file('b'), '-s'), true);
            assert.equal(othersCanLock(file('b'), '-x'), false);
          },
          { shared: true },
        );
        assert.equal(othersCanLock(file('b'), '-x'), true);
      });
    }
    assert.deepEqual(children(), helpers, 'the same helper served every scope');
    assert.equal(othersCanLock(file('store-dir'), '-x'), true);
  });

  it('makes two scopes exclude each other on the same file, as two processes', async () => {
    const order: string[] = [];
    let release!: () => void;
    let entered!: () => void;
    const inFirst = new Promise<void>((r) => (entered = r));
    const first = inScope([file('c')], () =>
      withFlock(file('c'), async () => {
        order.push('first in');
        entered();
        await new Promise<void>((r) => (release = r));
        order.push('first out');
      }),
    );
    await inFirst;
    const second = inScope([file('c')], () => withFlock(file('c'), async () => order.push('second in')));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(order, ['first in'], 'the second waits');
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first in', 'first out', 'second in']);
    assert.equal(othersCanLock(file('c'), '-x'), true);
  });

  it("a scope's end drops exactly its own locks, while another scope's lock stays held", async () => {
    let release!: () => void;
    let entered!: () => void;
    const inKept = new Promise<void>((r) => (entered = r));
    const kept = inScope([file('kept')], () =>
      withFlock(file('kept'), async () => {
        entered();
        await new Promise<void>((r) => (release = r));
      }),
    );
    await inKept;
    // A request that fails with its lock held: its scope ends, its lock goes.
    await assert.rejects(
      inScope([file('a')], () =>
        withFlock(file('a'), async () => {
          assert.equal(othersCanLock(file('a'), '-x'), false);
          throw new Error('request failed');
        }),
      ),
      /request failed/,
    );
    assert.equal(othersCanLock(file('a'), '-x'), true);
    assert.equal(othersCanLock(file('kept'), '-x'), false, 'the other scope still holds its lock');
    release();
    await kept;
    assert.equal(othersCanLock(file('kept'), '-x'), true);
  });

  it('stays held by a child given the descriptor after fn returns, until the child exits (a plugin)', async () => {
    let child: Promise<unknown> | undefined;
    await inScope([file('child')], () =>
      withFlock(file('child'), async (fd) => {
        child = runProcess('sleep', ['0.5'], { inheritFds: [fd] });
      }),
    );
    assert.equal(othersCanLock(file('child'), '-x'), false, 'the child holds the lock');
    await child;
    assert.equal(othersCanLock(file('child'), '-x'), true);
  });

  it('says so when it cannot take a descriptor over (the caller then locks another way)', async () => {
    const helper = new PerlHelper([]);
    helper.adopt(987654); // no such descriptor in this process: pidfd_getfd fails
    await assert.rejects(helper.lock(987654, false), PerlHelperUnavailable);
    assert.equal(helper.adoptFailed, true);
    helper.stop();
  });
});
