/** ImageBackend over containerd's images, content, snapshots, diff and leases services. */
import { createHash, randomBytes } from 'node:crypto';
import { TsnerdError, invalid, isTsnerdError, ErrorList } from '../../domain/errors.ts';
import type { Descriptor } from '../../domain/oci/image.ts';
import type { BlobInfo, ImageBackend, ImageRecord, LayerMount, WrittenBlob } from '../../interfaces/image-backend.ts';
import type { ContainerdClient } from './client.ts';
import type { Descriptor__Output } from './generated/containerd/types/Descriptor.ts';
import type { Image__Output } from './generated/containerd/services/images/v1/Image.ts';
import type { Timestamp__Output } from './generated/google/protobuf/Timestamp.ts';

const SNAPSHOTTER = 'overlayfs';
const CHUNK_BYTES = 1024 * 1024;
/** A lease left by a crashed tsnerd expires on its own. */
const LEASE_EXPIRY_MS = 60 * 60 * 1000;
/** Unpacking a big layer can take a while. */
const APPLY_TIMEOUT_MS = 10 * 60 * 1000;

const toDate = (t: Timestamp__Output | null) => new Date(t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : 0);

function toDescriptor(d: Descriptor__Output | null): Descriptor {
  if (!d) throw new TsnerdError('internal', 'containerd returned an image without target');
  return {
    mediaType: d.media_type,
    digest: d.digest,
    size: Number(d.size),
    ...(Object.keys(d.annotations).length ? { annotations: d.annotations } : {}),
  };
}

function toRecord(i: Image__Output): ImageRecord {
  return {
    name: i.name,
    target: toDescriptor(i.target),
    labels: i.labels,
    createdAt: toDate(i.created_at),
    updatedAt: toDate(i.updated_at),
  };
}

const fromDescriptor = (d: Descriptor) => ({ media_type: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations ?? {} });

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isTsnerdError(err, 'not-found')) return undefined;
    throw err;
  }
}

export class ContainerdImageBackend implements ImageBackend {
  private readonly client: ContainerdClient;

  constructor(client: ContainerdClient) {
    this.client = client;
  }

  async serverVersion() {
    const v = await this.client.version.Version({});
    return { version: v.version, revision: v.revision };
  }

  async getImage(name: string) {
    const res = await orUndefined(this.client.images.Get({ name }));
    return res?.image ? toRecord(res.image) : undefined;
  }

  async listImages() {
    const res = await this.client.images.List({ filters: [] });
    return res.images.map(toRecord);
  }

  async putImage(image: { name: string; target: Descriptor; labels?: Record<string, string> }) {
    const record = { name: image.name, target: fromDescriptor(image.target), labels: image.labels ?? {} };
    try {
      await this.client.images.Create({ image: record });
    } catch (err) {
      if (!isTsnerdError(err, 'conflict')) throw err;
      await this.client.images.Update({ image: record, update_mask: { paths: ['target', 'labels'] } });
    }
  }

  async deleteImage(name: string) {
    await this.client.images.Delete({ name, sync: true });
  }

  async blobInfo(digest: string): Promise<BlobInfo | undefined> {
    const res = await orUndefined(this.client.content.Info({ digest }));
    return res?.info ? { digest: res.info.digest, size: Number(res.info.size), labels: res.info.labels } : undefined;
  }

  async readBlob(digest: string) {
    const parts: Buffer[] = [];
    for await (const msg of this.client.content.Read({ digest, offset: 0, size: 0 })) parts.push(msg.data);
    return Buffer.concat(parts);
  }

  async writeBlob(
    data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    expect: { digest?: string | undefined; size?: number | undefined },
  ): Promise<WrittenBlob> {
    const ref = `tsnerd-${randomBytes(8).toString('hex')}`;
    const hash = createHash('sha256');
    let offset = 0;
    const call = this.client.content.Write();
    try {
      try {
        await call.exchange({ action: 'STAT', ref, total: expect.size ?? 0, expected: expect.digest ?? '' });
      } catch (err) {
        if (!isTsnerdError(err, 'conflict') || expect.digest === undefined) throw err;
        // Already in the store (and now held by our lease): the bytes are left unread.
        return { digest: expect.digest, size: expect.size ?? (await this.blobInfo(expect.digest))?.size ?? 0 };
      }
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const chunk = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await call.exchange({ action: 'WRITE', ref, offset, data: chunk });
        offset += chunk.length;
      };
      for await (const part of data) {
        hash.update(part);
        pending.push(Buffer.from(part));
        pendingBytes += part.length;
        if (pendingBytes >= CHUNK_BYTES) await flush();
      }
      await flush();
      const digest = `sha256:${hash.digest('hex')}`;
      if (expect.digest !== undefined && digest !== expect.digest) {
        throw invalid(`blob ${expect.digest} has the wrong digest (got ${digest})`);
      }
      if (expect.size !== undefined && offset !== expect.size) {
        throw invalid(`blob ${digest} has ${offset} bytes, expected ${expect.size}`);
      }
      try {
        await call.exchange({ action: 'COMMIT', ref, total: offset, expected: digest, offset });
      } catch (err) {
        // Same bytes already stored: containerd ends the stream with ALREADY_EXISTS.
        if (isTsnerdError(err, 'conflict')) return { digest, size: offset };
        throw err;
      }
      await call.end();
      return { digest, size: offset };
    } catch (err) {
      call.cancel();
      await this.client.content.Abort({ ref }).catch(() => {});
      throw err;
    }
  }

  async labelBlob(digest: string, labels: Record<string, string>) {
    await this.client.content.Update({
      info: { digest, labels },
      update_mask: { paths: Object.keys(labels).map((k) => `labels.${k}`) },
    });
  }

  async snapshotExists(key: string) {
    return (await orUndefined(this.client.snapshots.Stat({ snapshotter: SNAPSHOTTER, key }))) !== undefined;
  }

  async prepareSnapshot(key: string, parent: string): Promise<LayerMount[]> {
    const res = await this.client.snapshots.Prepare({ snapshotter: SNAPSHOTTER, key, parent, labels: {} });
    return res.mounts.map((m) => ({ type: m.type, source: m.source, options: m.options }));
  }

  async applyLayer(layer: Descriptor, mounts: LayerMount[]) {
    const res = await this.client.diff.Apply(
      { diff: fromDescriptor(layer), mounts: mounts.map((m) => ({ ...m, target: '' })), payloads: {} },
      { timeoutMs: APPLY_TIMEOUT_MS },
    );
    if (!res.applied) throw new TsnerdError('internal', `containerd applied layer ${layer.digest} without a result`);
    return res.applied.digest;
  }

  async commitSnapshot(name: string, key: string) {
    await this.client.snapshots.Commit({ snapshotter: SNAPSHOTTER, name, key, labels: {} });
  }

  async removeSnapshot(key: string) {
    await this.client.snapshots.Remove({ snapshotter: SNAPSHOTTER, key });
  }

  async withLease<T>(fn: (leased: ImageBackend) => Promise<T>): Promise<T> {
    const id = `tsnerd-${Date.now()}-${randomBytes(4).toString('hex')}`;
    const expire = new Date(Date.now() + LEASE_EXPIRY_MS).toISOString();
    await this.client.leases.Create({ id, labels: { 'containerd.io/gc.expire': expire } });
    let result: T;
    try {
      result = await fn(new ContainerdImageBackend(this.client.withLease(id)));
    } catch (err) {
      const errors = new ErrorList();
      errors.add(err);
      // sync: the garbage collector has run when the command returns.
      await errors.attempt(() => this.client.leases.Delete({ id, sync: true }));
      errors.throwIfAny();
      throw err;
    }
    await this.client.leases.Delete({ id, sync: false });
    return result;
  }
}
