import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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

test('acquire writes the owner ID; re-acquire by the owner is a no-op', () =>
  withStore(async (store, dir) => {
    await store.acquire('web', 'id1');
    await store.acquire('web', 'id1');
    assert.equal(await readFile(join(dir, 'web'), 'utf8'), 'id1');
  }));

test('a name owned by another ID is a conflict with nerdctl wording', () =>
  withStore(async (store) => {
    await store.acquire('web', 'id1');
    await assert.rejects(
      store.acquire('web', 'id2'),
      (e) => isTsnerdError(e, 'conflict') && e.message === 'name "web" is already used by ID "id1"',
    );
  }));

test('only the owner releases; releasing a missing name is fine', () =>
  withStore(async (store, dir) => {
    await store.acquire('web', 'id1');
    await store.release('web', 'id2');
    assert.ok(existsSync(join(dir, 'web')));
    await store.release('web', 'id1');
    assert.ok(!existsSync(join(dir, 'web')));
    await store.release('web', 'id1');
    await store.acquire('web', 'id2');
  }));

test('concurrent acquires: exactly one wins', () =>
  withStore(async (store) => {
    const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((id) => store.acquire('x', id)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  }));

test('invalid names are refused', () =>
  withStore(async (store) => {
    await assert.rejects(store.acquire('-bad', 'id'), (e) => isTsnerdError(e, 'invalid'));
  }));
