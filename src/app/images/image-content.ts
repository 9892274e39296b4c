/** Reading an image's documents back from the content store. */
import { invalid } from '../../domain/errors.ts';
import {
  ImageConfigSchema,
  IndexSchema,
  LINUX_AMD64,
  ManifestSchema,
  isIndexType,
  isManifestType,
  parseDocument,
  selectManifest,
  type Descriptor,
  type ImageConfigDocument,
  type ImageIndex,
  type ImageManifest,
} from '../../domain/oci/image.ts';
import * as z from '../../domain/zod.ts';
import type { ImageBackend } from '../../interfaces/image-backend.ts';

export interface PlatformImage {
  /** The index the manifest was chosen from, when the target is an index. */
  index: { descriptor: Descriptor; document: ImageIndex } | undefined;
  manifest: { descriptor: Descriptor; document: ImageManifest };
  config: ImageConfigDocument;
}

/** The index fields, all optional, and any other keys: enough to tell an index from a manifest. */
const IndexProbeSchema = z.catchall(z.partial(IndexSchema), z.unknown());

/** Parses an index or manifest; the media type comes from the descriptor or the document. */
export function parseTop(
  bytes: Buffer,
  what: string,
): { kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest } {
  const probe = parseDocument(IndexProbeSchema, bytes, what) as { mediaType?: string; manifests?: unknown };
  if (probe.manifests !== undefined || (probe.mediaType !== undefined && isIndexType(probe.mediaType))) {
    return { kind: 'index', index: parseDocument(IndexSchema, bytes, what) };
  }
  return { kind: 'manifest', manifest: parseDocument(ManifestSchema, bytes, what) };
}

/** Follows an image target to its linux/amd64 manifest and config. */
export async function readPlatformImage(backend: ImageBackend, target: Descriptor, imageName: string): Promise<PlatformImage> {
  const top = parseTop(await backend.readBlob(target.digest), `manifest ${target.digest}`);
  let index: PlatformImage['index'];
  let manifestDesc = target;
  let manifest: ImageManifest;
  if (top.kind === 'index') {
    index = { descriptor: target, document: top.index };
    const chosen = selectManifest(top.index, LINUX_AMD64);
    if (!chosen) throw invalid(`image "${imageName}" has no linux/amd64 variant`);
    manifestDesc = chosen;
    const inner = parseTop(await backend.readBlob(chosen.digest), `manifest ${chosen.digest}`);
    if (inner.kind !== 'manifest') throw invalid(`manifest ${chosen.digest} of "${imageName}" is a nested index`);
    manifest = inner.manifest;
  } else {
    if (target.mediaType && !isManifestType(target.mediaType))
      throw invalid(`image "${imageName}" has unsupported media type ${target.mediaType}`);
    manifest = top.manifest;
  }
  const config = parseDocument(ImageConfigSchema, await backend.readBlob(manifest.config.digest), `image config ${manifest.config.digest}`);
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw invalid(`image "${imageName}" has ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff IDs`);
  }
  return { index, manifest: { descriptor: manifestDesc, document: manifest }, config };
}
