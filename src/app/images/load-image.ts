/**
 * `tsnerd load`: an OCI-layout or docker-save archive into containerd. Blobs
 * are streamed into the content store as the archive is read; the image
 * records are made last, and all of it under one lease.
 */
import { invalid } from '../../domain/errors.ts';
import { normalizeImageName, parseImageRef, formatImageRef } from '../../domain/image-ref.ts';
import { IndexSchema, MEDIA, parseDocument, type Descriptor } from '../../domain/oci/image.ts';
import * as z from '../../domain/zod.ts';
import type { ArchiveEntry } from '../../interfaces/archive.ts';
import type { ImageBackend } from '../../interfaces/image-backend.ts';
import { unpackImage } from './unpack.ts';

const METADATA_FILES = new Set(['index.json', 'manifest.json', 'oci-layout', 'repositories']);
const MAX_METADATA_BYTES = 16 * 1024 * 1024;
const OCI_BLOB = /^blobs\/(sha256)\/([a-f0-9]{64})$/;
const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';
const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

const DockerSaveManifestSchema = z.array(
  z.object({ Config: z.string(), RepoTags: z.nullish(z.array(z.string())), Layers: z.array(z.string()) }),
);

interface StoredFile {
  digest: string;
  size: number;
  gzip: boolean;
}

interface ImageToCreate {
  name: string;
  target: Descriptor;
}

export async function loadImages(backend: ImageBackend, entries: AsyncIterable<ArchiveEntry>): Promise<string[]> {
  return backend.withLease(async (leased) => {
    const images = await importArchive(leased, entries);
    if (images.length === 0) throw invalid('archive contains no named image');
    for (const image of images) {
      await unpackImage(leased, image.target, image.name);
      await leased.putImage(image);
    }
    return images.map((i) => i.name);
  });
}

async function importArchive(backend: ImageBackend, entries: AsyncIterable<ArchiveEntry>): Promise<ImageToCreate[]> {
  const metadata = new Map<string, Buffer>();
  const files = new Map<string, StoredFile>();
  const links = new Map<string, string>();
  for await (const entry of entries) {
    if (entry.linkTo !== undefined) {
      links.set(entry.name, entry.linkTo);
    } else if (METADATA_FILES.has(entry.name)) {
      if (entry.size > MAX_METADATA_BYTES) throw invalid(`archive file ${entry.name} is too large`);
      const parts: Buffer[] = [];
      for await (const p of entry.body) parts.push(Buffer.from(p));
      metadata.set(entry.name, Buffer.concat(parts));
    } else {
      files.set(entry.name, await storeFile(backend, entry));
    }
  }
  const file = (name: string): StoredFile => {
    const found = files.get(name) ?? files.get(links.get(name) ?? '');
    if (!found) throw invalid(`archive is missing ${name}`);
    return found;
  };
  const index = metadata.get('index.json');
  const dockerManifest = metadata.get('manifest.json');
  if (index) {
    const fromIndex = ociImages(parseDocument(IndexSchema, index, 'index.json of the archive').manifests);
    if (fromIndex.length > 0 || !dockerManifest) return fromIndex;
  }
  if (dockerManifest)
    return dockerSaveImages(backend, parseDocument(DockerSaveManifestSchema, dockerManifest, 'manifest.json of the archive'), file);
  throw invalid('archive has neither index.json nor manifest.json: not an OCI or docker-save image archive');
}

async function storeFile(backend: ImageBackend, entry: ArchiveEntry): Promise<StoredFile> {
  const oci = OCI_BLOB.exec(entry.name);
  let gzip = false;
  let first = true;
  async function* sniffed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of entry.body) {
      if (first && chunk.length > 0) {
        gzip = chunk[0] === 0x1f && chunk[1] === 0x8b;
        first = false;
      }
      yield chunk;
    }
  }
  const expected = oci ? { digest: `${oci[1]}:${oci[2]}`, size: entry.size } : { size: entry.size };
  const written = await backend.writeBlob(sniffed(), expected);
  return { ...written, gzip };
}

function ociImages(manifests: Descriptor[]): ImageToCreate[] {
  const images: ImageToCreate[] = [];
  for (const m of manifests) {
    const name = m.annotations?.[IMAGE_NAME_ANNOTATION] ?? fullRefOrUndefined(m.annotations?.[REF_NAME_ANNOTATION]);
    if (name !== undefined) images.push({ name: normalizeImageName(name), target: withoutPlatform(m) });
  }
  return images;
}

/** org.opencontainers.image.ref.name is often just a tag; only a full reference names an image. */
function fullRefOrUndefined(refName: string | undefined): string | undefined {
  if (refName === undefined || !refName.includes('/')) return undefined;
  try {
    return formatImageRef(parseImageRef(refName));
  } catch {
    return undefined;
  }
}

function withoutPlatform(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.annotations ? { annotations: d.annotations } : {}) };
}

/** docker-save has no manifest blob: make a Docker v2 manifest from manifest.json, as containerd does. */
async function dockerSaveImages(
  backend: ImageBackend,
  entries: z.infer<typeof DockerSaveManifestSchema>,
  file: (name: string) => StoredFile,
): Promise<ImageToCreate[]> {
  const images: ImageToCreate[] = [];
  for (const entry of entries) {
    const config = file(entry.Config);
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.dockerManifest,
      config: { mediaType: MEDIA.dockerConfig, digest: config.digest, size: config.size },
      layers: entry.Layers.map((l) => {
        const layer = file(l);
        return { mediaType: layer.gzip ? MEDIA.dockerLayerGzip : MEDIA.dockerLayer, digest: layer.digest, size: layer.size };
      }),
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const written = await backend.writeBlob([bytes], { size: bytes.length });
    const target: Descriptor = { mediaType: MEDIA.dockerManifest, digest: written.digest, size: written.size };
    for (const tag of entry.RepoTags ?? []) images.push({ name: normalizeImageName(tag), target });
  }
  return images;
}
