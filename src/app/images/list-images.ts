/** `tsnerd images`: the image records with what a listing shows of them. */
import { familiarRepository, parseImageRef } from '../../domain/image-ref.ts';
import type { ImageBackend, ImageRecord } from '../../interfaces/image-backend.ts';
import { readPlatformImage } from './image-content.ts';

export interface ImageSummary {
  name: string;
  repository: string;
  tag: string;
  /** The target digest (manifest or index), as "sha256:…". */
  id: string;
  createdAt: Date;
  /** Bytes of the linux/amd64 manifest, config and layers in the content store. */
  size: number;
}

export async function listImages(backend: ImageBackend): Promise<ImageSummary[]> {
  const records = await backend.listImages();
  const out = await Promise.all(records.map((r) => summarize(backend, r)));
  return out.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || a.name.localeCompare(b.name));
}

async function summarize(backend: ImageBackend, record: ImageRecord): Promise<ImageSummary> {
  let repository = record.name;
  let tag = '<none>';
  try {
    const ref = parseImageRef(record.name);
    repository = familiarRepository(ref);
    tag = ref.tag ?? '<none>';
  } catch {
    // A record made by another client may not be a reference; show it as is.
  }
  let size = record.target.size;
  let createdAt = record.createdAt;
  try {
    const image = await readPlatformImage(backend, record.target, record.name);
    const m = image.manifest.document;
    size = image.manifest.descriptor.size + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
    if (image.config.created) createdAt = new Date(image.config.created);
  } catch {
    // Content missing (e.g. pulled for another platform): keep the record's facts.
  }
  return { name: record.name, repository, tag, id: record.target.digest, createdAt, size };
}
