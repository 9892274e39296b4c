import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRunConfigCache } from '../../../src/adapters/store/run-config-cache.ts';
import { resolveImage } from '../../../src/app/images/resolve-image.ts';
import type { ImageBackend } from '../../../src/interfaces/image-backend.ts';

const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const diffId = sha('layer');
const config = Buffer.from(
  JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'], Env: ['A=1'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
  }),
);
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha('blob'), size: 4 }],
  }),
);
const target = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length };

/** Only what resolveImage calls; counts content reads. */
function fakeBackend(): { backend: ImageBackend; reads: string[] } {
  const reads: string[] = [];
  const blobs = new Map([
    [target.digest, manifest],
    [sha(config), config],
  ]);
  const record = { name: 'docker.io/library/busybox:latest', target, labels: {}, createdAt: new Date(0), updatedAt: new Date(0) };
  const backend = {
    getImage: async (name: string) => (name === record.name ? record : undefined),
    listImages: async () => [record],
    readBlob: async (digest: string) => {
      reads.push(digest);
      const b = blobs.get(digest);
      if (!b) throw new Error(`no blob ${digest}`);
      return b;
    },
  } as unknown as ImageBackend;
  return { backend, reads };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsnerd-imagecache-'));
  try {
    await fn(join(dir, 'imagecache'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('run config cache', () => {
  it('a second resolve of the same image reads no content and gives the same answer', async () => {
    await withDir(async (dir) => {
      const { backend, reads } = fakeBackend();
      const cache = new FileRunConfigCache(dir);
      const first = await resolveImage(backend, 'busybox', cache);
      assert.equal(reads.length, 2);
      const second = await resolveImage(backend, 'busybox', cache);
      assert.equal(reads.length, 2, 'served from the cache');
      assert.deepEqual(second, first);
      assert.deepEqual(first.config.cmd, ['sh']);
      assert.deepEqual(await readdir(dir), [`${target.digest.slice(7)}.json`]);
    });
  });

  it('an unreadable entry is a miss and is written again', async () => {
    await withDir(async (dir) => {
      const { backend, reads } = fakeBackend();
      const cache = new FileRunConfigCache(dir);
      await resolveImage(backend, 'busybox', cache);
      await writeFile(join(dir, `${target.digest.slice(7)}.json`), '{"chainId": 1');
      assert.equal(await cache.get(target.digest), undefined);
      await resolveImage(backend, 'busybox', cache);
      assert.equal(reads.length, 4);
      assert.notEqual(await cache.get(target.digest), undefined);
    });
  });

  it('ignores digests that are not sha256 hex', async () => {
    await withDir(async (dir) => {
      const cache = new FileRunConfigCache(dir);
      await cache.put('sha256:../../etc/x', {
        chainId: 'x',
        config: { env: [], cmd: [], entrypoint: [], workingDir: '', user: '', exposedPorts: [], labels: {} },
      });
      assert.equal(await cache.get('sha256:../../etc/x'), undefined);
      await assert.rejects(readdir(dir), { code: 'ENOENT' });
    });
  });
});
