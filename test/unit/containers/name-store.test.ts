import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
