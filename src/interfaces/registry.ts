/** An OCI distribution registry, read-only. */
import type { ImageRef } from '../domain/image-ref.ts';

export interface FetchedManifest {
  /** From the response's Content-Type, or the document's own mediaType. */
  mediaType: string;
  bytes: Buffer;
}

export interface Registry {
  /** `reference` is a tag or a digest. Throws not-found when the registry has no such manifest. */
  getManifest(ref: ImageRef, reference: string): Promise<FetchedManifest>;
  /** The blob's bytes, fetched only when iterated. */
  getBlob(ref: ImageRef, digest: string): AsyncIterable<Uint8Array>;
}
