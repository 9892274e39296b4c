import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileContainerStateFiles } from '../../../src/adapters/store/container-state-files.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

describe('FileContainerStateFiles.writeEndpoints', () => {
  it('writes the endpoints file; a state dir removed meanwhile (rm -f racing a connect) is "not found", not a raw ENOENT', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-state-files-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = new FileContainerStateFiles();
    await files.writeEndpoints(dir, []);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')), { endpoints: [] });
    const gone = join(dir, 'gone');
    await assert.rejects(files.writeEndpoints(gone, []), (err: unknown) => {
      assert.ok(isTsnerdError(err, 'not-found'), String(err));
      assert.match((err as Error).message, /removed meanwhile .*gone/);
      return true;
    });
  });
});

describe('FileContainerStateFiles.writeLifecycle', () => {
  it('a state dir removed meanwhile (rm -f racing a start) is "not found", not a raw ENOENT of the temporary file', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-state-files-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = new FileContainerStateFiles();
    await files.writeLifecycle(dir, { start_deadline: 1 });
    assert.deepEqual(await files.readLifecycle(dir), { start_deadline: 1 });
    await assert.rejects(files.writeLifecycle(join(dir, 'gone'), { start_deadline: 1 }), (err: unknown) => {
      assert.ok(isTsnerdError(err, 'not-found'), String(err));
      assert.match((err as Error).message, /removed meanwhile .*gone/);
      return true;
    });
  });
});
