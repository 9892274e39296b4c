/**
 * `tsnerd pull`: the linux/amd64 image from a registry into containerd, then
 * unpacked. Everything is written under one lease, so a failed pull leaves
 * nothing behind.
 */
import { createHash } from 'node:crypto';
import { invalid } from '../../domain/errors.ts';
import { formatImageRef, parseImageRef } from '../../domain/image-ref.ts';
import { LINUX_AMD64, isIndexType, selectManifest, type Descriptor } from '../../domain/oci/image.ts';
import type { ImageBackend } from '../../interfaces/image-backend.ts';
import type { Registry } from '../../interfaces/registry.ts';
import { parseTop } from './image-content.ts';
import { unpackImage } from './unpack.ts';

export interface PullProgress {
  (event: { id: string; status: string }): void;
}

export async function pullImage(
  backend: ImageBackend,
  registry: Registry,
  input: string,
  onProgress: PullProgress = () => {},
): Promise<string> {
  const ref = parseImageRef(input);
  const name = formatImageRef(ref);
  return backend.withLease(async (leased) => {
    const fetchManifest = async (reference: string, expectedDigest?: string) => {
      const m = await registry.getManifest(ref, reference);
      const digest = `sha256:${createHash('sha256').update(m.bytes).digest('hex')}`;
      if (expectedDigest !== undefined && digest !== expectedDigest) {
        throw invalid(`registry ${ref.domain} sent manifest ${digest} for "${name}", expected ${expectedDigest}`);
      }
      await leased.writeBlob([m.bytes], { digest, size: m.bytes.length });
      return { descriptor: { mediaType: m.mediaType, digest, size: m.bytes.length } satisfies Descriptor, bytes: m.bytes };
    };

    const top = await fetchManifest(ref.digest ?? ref.tag ?? 'latest', ref.digest);
    onProgress({ id: name, status: `resolved ${top.descriptor.digest}` });
    let manifestBytes = top.bytes;
    const parsed = parseTop(top.bytes, `manifest of "${name}"`);
    if (parsed.kind === 'index' || isIndexType(top.descriptor.mediaType)) {
      if (parsed.kind !== 'index') throw invalid(`registry ${ref.domain} sent a malformed index for "${name}"`);
      const chosen = selectManifest(parsed.index, LINUX_AMD64);
      if (!chosen) throw invalid(`image "${name}" has no linux/amd64 variant`);
      manifestBytes = (await fetchManifest(chosen.digest, chosen.digest)).bytes;
    }
    const manifest = parseTop(manifestBytes, `manifest of "${name}"`);
    if (manifest.kind !== 'manifest') throw invalid(`manifest of "${name}" is a nested index`);

    for (const blob of [manifest.manifest.config, ...manifest.manifest.layers]) {
      const id = blob.digest.slice('sha256:'.length, 'sha256:'.length + 12);
      onProgress({ id, status: 'downloading' });
      await leased.writeBlob(registry.getBlob(ref, blob.digest), { digest: blob.digest, size: blob.size });
      onProgress({ id, status: 'done' });
    }
    await unpackImage(leased, top.descriptor, name, (e) => onProgress({ id: e.layer.slice(7, 19), status: e.status }));
    await leased.putImage({ name, target: top.descriptor });
    return name;
  });
}
