import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withFlock } from '../../../src/adapters/store/flock.ts';
import { runProcess } from '../../../src/adapters/host/run-process.ts';

/** Whether another process could take the lock right now (flock -n). */
function othersCanLock(path: string, mode: '-x' | '-s'): boolean {
  return spawnSync('flock', ['-n', mode, path, 'true']).status === 0;
}

describe('withFlock', () => {
  it('holds an exclusive flock(2) for the duration of fn, then releases it', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'flock-')), 'sub', '.nerdctl.lock');
    const result = await withFlock(path, async () => {
      assert.equal(othersCanLock(path, '-s'), false);
      return 'done';
    });
    assert.equal(result, 'done');
    assert.equal(othersCanLock(path, '-x'), true);
  });

  it('shares a shared lock with other readers but not with writers', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'flock-')), 'l');
    await withFlock(
      path,
      async () => {
        assert.equal(othersCanLock(path, '-s'), true);
        assert.equal(othersCanLock(path, '-x'), false);
      },
      { shared: true },
    );
  });

  it('releases the lock when fn throws and waits for a holder in another process', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'flock-')), 'l');
    await assert.rejects(
      withFlock(path, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(othersCanLock(path, '-x'), true);
    const holder = spawnSync('sh', ['-c', `flock -x ${path} sleep 5 >/dev/null 2>&1 & sleep 0.2; echo $!`], { encoding: 'utf8' });
    const pid = Number(holder.stdout.trim());
    try {
      await assert.rejects(
        withFlock(path, async () => 'ran', { timeoutMs: 300 }),
        /timed out waiting for lock/,
      );
    } finally {
      process.kill(pid);
    }
  });

  it("stays held by a child given the descriptor, after fn returns, until that child exits (a killed hook's plugin)", async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'tsnerd-flock-')), 'lock');
    let child: Promise<unknown> | undefined;
    await withFlock(path, async (fd) => {
      child = runProcess('sleep', ['0.6'], { inheritFds: [fd] });
    });
    assert.equal(othersCanLock(path, '-x'), false, 'the child holds the lock');
    await child;
    assert.equal(othersCanLock(path, '-x'), true);
  });
});
