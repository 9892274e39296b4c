/**
 * Unpacking an image into the overlayfs snapshotter as containerd does: one
 * committed snapshot per layer, named by chain ID, and the GC labels that tie
 * index -> manifest -> config/layers -> snapshot together.
 */
import { randomBytes } from 'node:crypto';
import { invalid, isTsnerdError } from '../../domain/errors.ts';
import { GC_LABEL, chainIds, indexGcLabels, manifestGcLabels, type Descriptor } from '../../domain/oci/image.ts';
import type { ImageBackend } from '../../interfaces/image-backend.ts';
import { readPlatformImage } from './image-content.ts';

export interface UnpackProgress {
  (event: { layer: string; status: 'unpacking' | 'unpacked' | 'exists' }): void;
}

/** Labels the image's blobs, unpacks its layers and returns the top chain ID. Runs inside a lease. */
export async function unpackImage(backend: ImageBackend, target: Descriptor, name: string, onProgress?: UnpackProgress): Promise<string> {
  const image = await readPlatformImage(backend, target, name);
  const { manifest, config } = image;
  for (const blob of [manifest.document.config, ...manifest.document.layers]) {
    if (!(await backend.blobInfo(blob.digest))) throw invalid(`image "${name}" is missing blob ${blob.digest}`);
  }
  if (image.index) await backend.labelBlob(image.index.descriptor.digest, indexGcLabels(image.index.document));
  await backend.labelBlob(manifest.descriptor.digest, manifestGcLabels(manifest.document));

  const diffIds = config.rootfs.diff_ids;
  const chain = chainIds(diffIds);
  for (const [i, layer] of manifest.document.layers.entries()) {
    const chainId = chain[i]!;
    if (await backend.snapshotExists(chainId)) {
      onProgress?.({ layer: layer.digest, status: 'exists' });
      continue;
    }
    onProgress?.({ layer: layer.digest, status: 'unpacking' });
    await unpackLayer(backend, layer, diffIds[i]!, chainId, i === 0 ? '' : chain[i - 1]!);
    onProgress?.({ layer: layer.digest, status: 'unpacked' });
  }
  const top = chain.at(-1);
  if (top === undefined) throw invalid(`image "${name}" has no layers`);
  await backend.labelBlob(manifest.document.config.digest, { [GC_LABEL.snapshotOverlay]: top });
  return top;
}

async function unpackLayer(backend: ImageBackend, layer: Descriptor, diffId: string, chainId: string, parent: string): Promise<void> {
  const key = `extract-${randomBytes(6).toString('hex')} ${chainId}`;
  const mounts = await backend.prepareSnapshot(key, parent);
  try {
    const applied = await backend.applyLayer(layer, mounts);
    if (applied !== diffId) throw invalid(`layer ${layer.digest} unpacks to ${applied}, but the image config expects ${diffId}`);
    await backend.labelBlob(layer.digest, { [GC_LABEL.uncompressed]: diffId });
    try {
      await backend.commitSnapshot(chainId, key);
    } catch (err) {
      // Another unpack of the same layer won the race: its snapshot is as good as ours.
      if (!isTsnerdError(err, 'conflict')) throw err;
      await backend.removeSnapshot(key);
    }
  } catch (err) {
    // The lease would reclaim it too, but only once the whole operation ends.
    await backend.removeSnapshot(key).catch(() => undefined);
    throw err;
  }
}
