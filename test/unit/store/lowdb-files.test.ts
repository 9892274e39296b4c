import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JSONFile, JSONFileSync, TextFileSync } from '../../../src/adapters/store/lowdb-files.ts';
import { writeFileNamed } from '../../../src/adapters/store/write-file.ts';

/** A dir whose `doc.json` is a non-empty directory: lowdb's temp file is written, its rename over the document fails. */
function blockedDir(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tsnerd-lowdb-files-'));
  const path = join(dir, 'doc.json');
  mkdirSync(path);
  writeFileSync(join(path, 'in-the-way'), '');
  return { dir, path };
}

describe('lowdb files', () => {
  it('write as lowdb does: the same bytes (JSON indented by two)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-lowdb-files-'));
    try {
      new JSONFileSync<{ a: number }>(join(dir, 'a.json')).write({ a: 1 });
      await new JSONFile<{ b: number }>(join(dir, 'b.json')).write({ b: 2 });
      assert.equal(readFileSync(join(dir, 'a.json'), 'utf8'), '{\n  "a": 1\n}');
      assert.equal(readFileSync(join(dir, 'b.json'), 'utf8'), '{\n  "b": 2\n}');
      assert.deepEqual(new JSONFileSync(join(dir, 'a.json')).read(), { a: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a write that fails leaves no temp file and names the document (sync and async)', async () => {
    const { dir, path } = blockedDir();
    try {
      assert.throws(
        () => new TextFileSync(path).write('x'),
        (e: NodeJS.ErrnoException & { dest?: string }) => e.path === path || e.dest === path,
      );
      await assert.rejects(new JSONFile(path).write({}), (e: NodeJS.ErrnoException) => typeof e.code === 'string');
      assert.deepEqual(readdirSync(dir), ['doc.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('writeFileNamed', () => {
  it('a file it could not write whole is removed on request, one that existed (wx) is left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-write-file-'));
    try {
      const taken = join(dir, 'taken');
      writeFileSync(taken, 'owner');
      assert.throws(() => writeFileNamed(taken, 'me', { mode: 0o600, flag: 'wx', removeOnFailure: true }), { code: 'EEXIST' });
      assert.equal(readFileSync(taken, 'utf8'), 'owner');
      const missing = join(dir, 'no-dir', 'file');
      assert.throws(
        () => writeFileNamed(missing, 'x', { mode: 0o600 }),
        (e: NodeJS.ErrnoException) => e.path === missing,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
