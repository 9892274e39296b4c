import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { withLock } from '../../../src/adapters/store/lock.ts';

describe('withLock', () => {
  it('serialises critical sections within a process', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'lock-')), 'l');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withLock(path, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    assert.equal(maxInside, 1);
  });

  it('takes over a lock left by a dead process and removes the file after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lock-'));
    const path = join(dir, 'l');
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    await writeFile(path, String(dead.pid));
    assert.equal(await withLock(path, async () => 'ran', { timeoutMs: 2000 }), 'ran');
    assert.deepEqual(await readdir(dir), []);
  });

  it('waits for a live holder in another process', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'lock-')), 'l');
    await writeFile(path, String(process.ppid)); // a live process that is not us
    await assert.rejects(withLock(path, async () => 'ran', { timeoutMs: 100 }), /timed out waiting for lock/);
  });
});
