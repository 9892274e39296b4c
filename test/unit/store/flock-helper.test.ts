import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerLockFiles, scopeHelper, withFlock, withLockedDir, withLockedFile } from '../../../src/adapters/store/flock.ts';
import { runProcess } from '../../../src/adapters/host/run-process.ts';
import { children, othersCanLock } from './lock-probes.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsnerd-flock-helper-'));
const file = (name: string) => join(dir, name);
const names = ['excl', 'shared', 'twice', 'waited', 'other', 'child'];
for (const n of names) writeFileSync(file(n), '');
mkdirSync(file('store-dir'));
// This file's process registers them (their first lock each goes through the helper); `missing`
// does not exist yet, so it is taken with flock(1) as before.
registerLockFiles([...names, 'store-dir', 'missing'].map(file));

describe('withFlock on registered lock files (one helper process)', () => {
  it('holds an exclusive or a shared flock(2) for the duration of fn, then releases it', async () => {
    await withFlock(file('excl'), async () => {
      assert.equal(othersCanLock(file('excl'), '-s'), false);
      assert.equal(children('perl').length, 1, 'one helper process took it');
      assert.deepEqual(children('flock'), []);
    });
    assert.equal(othersCanLock(file('excl'), '-x'), true);
    await withFlock(
      file('shared'),
      async () => {
        assert.equal(othersCanLock(file('shared'), '-s'), true);
        assert.equal(othersCanLock(file('shared'), '-x'), false);
      },
      { shared: true },
    );
    assert.equal(othersCanLock(file('shared'), '-x'), true);
    await withFlock(file('store-dir'), async () => assert.equal(othersCanLock(file('store-dir'), '-s'), false), { directory: true });
    assert.equal(othersCanLock(file('store-dir'), '-x'), true);
    await withFlock(file('missing'), async () => assert.equal(othersCanLock(file('missing'), '-x'), false));
    assert.equal(othersCanLock(file('missing'), '-x'), true);
  });

  it('excludes a second holder in this process, and locks the path again later', async () => {
    const path = file('twice');
    const order: string[] = [];
    let release!: () => void;
    const first = withFlock(path, async () => {
      order.push('first in');
      await new Promise<void>((r) => (release = r));
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = withFlock(path, async () => order.push('second in'));
    await new Promise((r) => setTimeout(r, 200));
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first in', 'first out', 'second in']);
    assert.equal(othersCanLock(path, '-x'), true);
    await withFlock(path, async () => assert.equal(othersCanLock(path, '-x'), false));
    assert.equal(othersCanLock(path, '-x'), true);
  });

  it('waits for another process holding the lock, while other locks are served meanwhile', async () => {
    const holder = spawn('flock', ['-x', file('waited'), 'sleep', '0.8'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const waiting = withFlock(file('waited'), async () => Date.now() - started);
    await withFlock(file('other'), async () => assert.ok(Date.now() - started < 500, 'the other lock was not held up'));
    assert.ok((await waiting) >= 300, 'taken only once the other process released it');
    assert.equal(othersCanLock(file('waited'), '-x'), true);
  });

  it("stays held by a child given the descriptor, after fn returns, until that child exits (a killed hook's plugin)", async () => {
    let child: Promise<unknown> | undefined;
    await withFlock(file('child'), async (fd) => {
      child = runProcess('sleep', ['0.6'], { inheritFds: [fd] });
    });
    assert.equal(othersCanLock(file('child'), '-x'), false, 'the child holds the lock');
    await child;
    assert.equal(othersCanLock(file('child'), '-x'), true);
  });

  it('is released when the holding process is killed with SIGKILL', async () => {
    const path = file('killed');
    writeFileSync(path, '');
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/hold-registered-lock.ts'), path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      child.on('exit', (code) => reject(new Error(`the child exited (${code}) before locking`)));
    });
    assert.equal(othersCanLock(path, '-x'), false);
    child.kill('SIGKILL');
    const deadline = Date.now() + 3000;
    while (!othersCanLock(path, '-x')) {
      assert.ok(Date.now() < deadline, 'the lock outlived its process');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

describe('withLockedDir (a lock the helper takes on its own descriptor of the directory)', () => {
  it("holds the directory's exclusive flock(2) for fn, then releases it; two locks, one helper process and no flock(1)", async () => {
    const store = file('names-dir');
    await withLockedDir(store, async () => assert.equal(othersCanLock(store, '-s'), false));
    assert.equal(othersCanLock(store, '-x'), true);
    const helpers = children('perl').length;
    await withLockedDir(store, async () => {
      assert.equal(othersCanLock(store, '-x'), false);
      assert.deepEqual(children('flock'), []);
    });
    assert.equal(children('perl').length, helpers, 'the second lock started no process');
    assert.equal(othersCanLock(store, '-x'), true);
  });

  it('waits for another holder (flock(1), as nerdctl), and excludes a second holder in this process', async () => {
    const store = file('names-dir2');
    mkdirSync(store);
    const held = file('names-dir2.held');
    const other = spawn('flock', ['-x', store, 'sh', '-c', `touch "${held}"; sleep 0.4; touch "${held}.done"`], { stdio: 'ignore' });
    const exited = new Promise((r) => other.on('exit', r));
    while (!readdirSync(dir).includes('names-dir2.held')) await new Promise((r) => setTimeout(r, 5));
    const order: string[] = [];
    let release!: () => void;
    const first = withLockedDir(store, async () => {
      order.push(`first in (other done: ${readdirSync(dir).includes('names-dir2.held.done')})`);
      await new Promise<void>((r) => (release = r));
      order.push('first out');
    });
    while (order.length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = withLockedDir(store, async () => void order.push('second in'));
    await new Promise((r) => setTimeout(r, 200));
    release();
    await Promise.all([first, second, exited]);
    assert.deepEqual(order, ['first in (other done: true)', 'first out', 'second in']);
    assert.equal(othersCanLock(store, '-x'), true);
  });
});

describe('withLockedFile (a lock file taken by the helper, as the conf dir and ports locks are)', () => {
  it('makes a missing lock file, holds it shared or exclusive for fn with no flock(1), then releases it', async () => {
    const lock = file('conf/.nerdctl.lock');
    await withLockedFile(
      lock,
      async () => {
        assert.equal(othersCanLock(lock, '-s'), true, 'a shared lock admits other readers');
        assert.equal(othersCanLock(lock, '-x'), false, 'and no writer');
        assert.deepEqual(children('flock'), []);
      },
      { shared: true },
    );
    await withLockedFile(lock, async () => assert.equal(othersCanLock(lock, '-s'), false));
    assert.equal(othersCanLock(lock, '-x'), true);
  });

  it('waits for a writer in another process (flock(1), as nerdctl), and two readers in this process hold it at once', async () => {
    const lock = file('ports.lock');
    writeFileSync(lock, '');
    const held = file('ports.held');
    const other = spawn('flock', ['-x', lock, 'sh', '-c', `touch "${held}"; sleep 0.4; touch "${held}.done"`], { stdio: 'ignore' });
    const exited = new Promise((r) => other.on('exit', r));
    while (!readdirSync(dir).includes('ports.held')) await new Promise((r) => setTimeout(r, 5));
    let inside = 0;
    let both = false;
    const reader = () =>
      withLockedFile(
        lock,
        async () => {
          assert.equal(readdirSync(dir).includes('ports.held.done'), true, 'the writer was waited for');
          inside++;
          for (let i = 0; i < 40 && inside < 2; i++) await new Promise((r) => setTimeout(r, 5));
          both ||= inside === 2;
          await new Promise((r) => setTimeout(r, 20));
          inside--;
        },
        { shared: true },
      );
    await Promise.all([reader(), reader(), exited]);
    assert.equal(both, true);
    assert.equal(othersCanLock(lock, '-x'), true);
  });
});

describe("the scope's helper makes FIFOs (the stdio FIFOs of an attached run)", () => {
  it('makes a FIFO with the given mode through the helper, no mkfifo(1) child', async (t) => {
    if (process.arch !== 'x64' && process.arch !== 'arm64') return t.skip('mknodat through the helper only on x64 and arm64');
    const fifo = file('fifo-made');
    await scopeHelper().mkfifo(fifo, 0o600);
    const st = statSync(fifo);
    assert.equal(st.isFIFO(), true);
    assert.equal(st.mode & 0o777, 0o600);
    assert.deepEqual(children('mkfifo'), []);
  });

  it('reports the path that cannot be made, with the reason', async (t) => {
    if (process.arch !== 'x64' && process.arch !== 'arm64') return t.skip('mknodat through the helper only on x64 and arm64');
    const fifo = file('fifo-twice');
    await scopeHelper().mkfifo(fifo, 0o600);
    await assert.rejects(scopeHelper().mkfifo(fifo, 0o600), /exists/);
    await assert.rejects(scopeHelper().mkfifo(file('no-such-dir/fifo'), 0o600), /No such file/);
  });
});
