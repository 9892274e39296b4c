/** Finding an image by what a user typed, and what a container needs of it. */
import { notFound, isTsnerdError } from '../../domain/errors.ts';
import { normalizeImageName } from '../../domain/image-ref.ts';
import { chainIds, runConfigOf, type Descriptor, type RunConfig } from '../../domain/oci/image.ts';
import type { ImageBackend, ImageRecord } from '../../interfaces/image-backend.ts';
import type { RunConfigCache } from '../../interfaces/run-config-cache.ts';
import { readPlatformImage } from './image-content.ts';
import { quote } from '../../domain/text.ts';

export interface ResolvedImage {
  /** Full name of the record, e.g. "docker.io/library/busybox:latest". */
  name: string;
  target: Descriptor;
  config: RunConfig;
  /** Snapshot name of the top layer: the parent for a container's snapshot. */
  chainId: string;
}

/** By full or short name ("busybox"), or by ID (a prefix of the target digest, 12+ hex). */
export async function findImage(backend: ImageBackend, ref: string): Promise<ImageRecord | undefined> {
  let name: string | undefined;
  try {
    name = normalizeImageName(ref);
  } catch (err) {
    if (!isTsnerdError(err, 'invalid')) throw err;
  }
  const byName = name === undefined ? undefined : await backend.getImage(name);
  if (byName) return byName;
  const hex = ref.replace(/^sha256:/, '');
  if (!/^[a-f0-9]{4,64}$/.test(hex)) return undefined;
  const matches = (await backend.listImages()).filter((i) => i.target.digest.startsWith(`sha256:${hex}`));
  return matches.length === 1 ? matches[0] : undefined;
}

/** Throws not-found `no such image: "foo"`. With a cache, an image seen before costs one call. */
export async function resolveImage(backend: ImageBackend, ref: string, cache?: RunConfigCache): Promise<ResolvedImage> {
  const record = await findImage(backend, ref);
  if (!record) throw notFound(`no such image: ${quote(ref)}`);
  const cached = await cache?.get(record.target.digest);
  if (cached) return { name: record.name, target: record.target, ...cached };
  const resolved = await readRunConfig(backend, record);
  await cache?.put(record.target.digest, { config: resolved.config, chainId: resolved.chainId });
  return resolved;
}

async function readRunConfig(backend: ImageBackend, record: ImageRecord): Promise<ResolvedImage> {
  const image = await readPlatformImage(backend, record.target, record.name);
  const top = chainIds(image.config.rootfs.diff_ids).at(-1);
  if (top === undefined) throw notFound(`image "${record.name}" has no layers`);
  return { name: record.name, target: record.target, config: runConfigOf(image.config), chainId: top };
}
