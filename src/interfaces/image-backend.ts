/** containerd's image records, content store, snapshotter and differ, as images need them. */
import type { Descriptor } from '../domain/oci/image.ts';

export interface ImageRecord {
  name: string;
  target: Descriptor;
  labels: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

export interface BlobInfo {
  digest: string;
  size: number;
  labels: Record<string, string>;
}

export interface LayerMount {
  type: string;
  source: string;
  options: string[];
}

export interface WrittenBlob {
  digest: string;
  size: number;
}

export interface ImageBackend {
  serverVersion(): Promise<{ version: string; revision: string }>;

  /** undefined when there is no such image. */
  getImage(name: string): Promise<ImageRecord | undefined>;
  listImages(): Promise<ImageRecord[]>;
  /** Creates the record, or points an existing one at the new target. */
  putImage(image: { name: string; target: Descriptor; labels?: Record<string, string> }): Promise<void>;
  /** Deletes the record and waits for containerd's GC to reclaim what only it used. */
  deleteImage(name: string): Promise<void>;

  blobInfo(digest: string): Promise<BlobInfo | undefined>;
  readBlob(digest: string): Promise<Buffer>;
  /**
   * Streams a blob into the content store, verifying `digest` and `size` when
   * given; a blob that is already there is not written again.
   */
  writeBlob(
    data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    expect: { digest?: string | undefined; size?: number | undefined },
  ): Promise<WrittenBlob>;
  labelBlob(digest: string, labels: Record<string, string>): Promise<void>;

  snapshotExists(key: string): Promise<boolean>;
  prepareSnapshot(key: string, parent: string): Promise<LayerMount[]>;
  /** Unpacks a layer blob onto mounts; returns the digest of the uncompressed layer (its diff ID). */
  applyLayer(layer: Descriptor, mounts: LayerMount[]): Promise<string>;
  commitSnapshot(name: string, key: string): Promise<void>;
  removeSnapshot(key: string): Promise<void>;

  /**
   * Runs fn with a backend whose every write is held by a temporary lease.
   * The lease goes at the end; if fn failed, what it wrote is reclaimed with it.
   */
  withLease<T>(fn: (leased: ImageBackend) => Promise<T>): Promise<T>;
}
