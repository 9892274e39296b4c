import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeIdleHostLocalDir } from '../../../src/adapters/host/linux-cni-host-state.ts';

/** A host-local dataDir as the plugin leaves it: `<dataDir>/<network>/` with its bookkeeping and the given IP files. */
async function withDataDir(ips: string[], fn: (dataDir: string, dir: string) => Promise<void>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'host-local-'));
  try {
    const dir = join(dataDir, 'fy-net');
    await mkdir(dir);
    await writeFile(join(dir, 'lock'), '');
    await writeFile(join(dir, 'last_reserved_ip.0'), '10.239.9.2');
    for (const ip of ips) await writeFile(join(dir, ip), 'default-abc\r\neth0');
    await fn(dataDir, dir);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe("host-local's dir of a removed network", () => {
  it('is removed when it holds only host-local bookkeeping (lock, last_reserved_ip.0)', () =>
    withDataDir([], async (dataDir, dir) => {
      await removeIdleHostLocalDir('fy-net', dataDir);
      assert.ok(!existsSync(dir), `${dir} outlived its network`);
      assert.deepEqual(await readdir(dataDir), []);
    }));

  it('is kept, untouched, while it holds an allocation', () =>
    withDataDir(['10.239.9.2'], async (dataDir, dir) => {
      await removeIdleHostLocalDir('fy-net', dataDir);
      assert.deepEqual((await readdir(dir)).sort(), ['10.239.9.2', 'last_reserved_ip.0', 'lock']);
    }));

  it('a missing dir, and names that are no single path component, are no error and touch nothing', () =>
    withDataDir([], async (dataDir, dir) => {
      await removeIdleHostLocalDir('fy-other', dataDir);
      for (const bad of ['', '.', '..', 'fy-net/..']) await removeIdleHostLocalDir(bad, dir);
      assert.ok(existsSync(dir));
    }));
});
