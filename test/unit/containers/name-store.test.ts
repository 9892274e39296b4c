import { test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileNameStore } from '../../../src/adapters/store/file-name-store.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

async function withStore(fn: (store: FileNameStore, dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'names-'));
  try {
    await fn(new FileNameStore(join(dir, 'names', 'default')), join(dir, 'names', 'default'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Container IDs as tsnerd makes them: a name file holding anything else is damaged. */
const ID1 = '1'.repeat(64);
const ID2 = '2'.repeat(64);

test('acquire writes the owner ID; re-acquire by the owner is a no-op', () =>
  withStore(async (store, dir) => {
    await store.acquire('web', ID1);
    await store.acquire('web', ID1);
    assert.equal(await readFile(join(dir, 'web'), 'utf8'), ID1);
  }));

test('a name owned by another ID is a conflict with nerdctl wording', () =>
  withStore(async (store) => {
    await store.acquire('web', ID1);
    await assert.rejects(
      store.acquire('web', ID2),
      (e) => isTsnerdError(e, 'conflict') && e.message === `name "web" is already used by ID "${ID1}"`,
    );
  }));

test('only the owner releases; releasing a missing name is fine', () =>
  withStore(async (store, dir) => {
    await store.acquire('web', ID1);
    await store.release('web', ID2);
    assert.ok(existsSync(join(dir, 'web')));
    await store.release('web', ID1);
    assert.ok(!existsSync(join(dir, 'web')));
    await store.release('web', ID1);
    await store.acquire('web', ID2);
  }));

test('concurrent acquires: exactly one wins', () =>
  withStore(async (store) => {
    const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((c) => store.acquire('x', c.repeat(64))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  }));

test('invalid names are refused', () =>
  withStore(async (store) => {
    await assert.rejects(store.acquire('-bad', 'id'), (e) => isTsnerdError(e, 'invalid'));
  }));

test('a damaged name file (no container ID in it) does not hold the name: acquire takes it, release frees it', () =>
  withStore(async (store, dir) => {
    await store.acquire('web', ID1);
    await writeFile(join(dir, 'web'), '\u0000garbage{');
    await store.acquire('web', ID2);
    assert.equal(await readFile(join(dir, 'web'), 'utf8'), ID2);
    await writeFile(join(dir, 'web'), 'not an id');
    await store.release('web', ID1);
    assert.ok(!existsSync(join(dir, 'web')));
  }));

/**
 * What nerdctl's name store does for an Acquire: flock(LOCK_EX) on names/<ns> itself, check the
 * file, then rename its own over it. The holder runs `script` under the lock between two marker
 * files (beside the store dir): `held` once it has the lock, `done` just before it lets it go.
 */
async function nerdctlHolds(dir: string, script: string): Promise<{ done: string; exited: Promise<unknown> }> {
  await mkdir(dir, { recursive: true });
  const marks = join(dir, '..', '..'); // withStore's temp dir, removed after the test
  const [held, done] = [join(marks, 'held'), join(marks, 'done')];
  const nerdctl = spawn('flock', ['--exclusive', dir, 'sh', '-c', `touch "${held}"; ${script}; touch "${done}"`], { stdio: 'ignore' });
  const exited = new Promise((resolve) => nerdctl.on('exit', resolve));
  while (!existsSync(held)) await setTimeout(5);
  return { done, exited };
}

test("acquire waits for nerdctl's lock of names/<ns> and sees the name nerdctl took under it", () =>
  withStore(async (store, dir) => {
    // Without the lock tsnerd creates the missing file at once, and nerdctl's rename then takes the name from under it.
    const tmp = join(dir, '.tmp');
    const nerdctl = await nerdctlHolds(dir, `sleep 0.5; printf %s ${ID2} > "${tmp}"; mv "${tmp}" "${join(dir, 'web')}"`);
    await assert.rejects(
      store.acquire('web', ID1),
      (e) => isTsnerdError(e, 'conflict') && e.message === `name "web" is already used by ID "${ID2}"`,
    );
    await nerdctl.exited;
    assert.equal(await readFile(join(dir, 'web'), 'utf8'), ID2);
  }));

test("release waits for nerdctl's lock of names/<ns>", () =>
  withStore(async (store, dir) => {
    await store.acquire('web', ID1);
    const nerdctl = await nerdctlHolds(dir, 'sleep 0.5');
    await store.release('web', ID1);
    assert.ok(existsSync(nerdctl.done), 'release went on while nerdctl held the lock');
    assert.ok(!existsSync(join(dir, 'web')));
    await nerdctl.exited;
  }));
