/**
 * Resolves a local image for `run`/`create`: image record -> (index ->
 * linux/amd64) manifest -> config, read from containerd's content store.
 */
import { invalid, isTsnerdError, notFound } from '../../domain/errors.ts';
import { normalizeImageName } from '../../domain/image-ref.ts';
import {
  ImageConfigSchema,
  IndexSchema,
  LINUX_AMD64,
  ManifestSchema,
  chainIds,
  isIndexType,
  parseDocument,
  selectManifest,
} from '../../domain/oci-image.ts';
import type { ImageResolver, ResolvedImage } from '../../ports/image-resolver.ts';
import type { ContainerdClient } from './client.ts';

export class ContainerdImageResolver implements ImageResolver {
  private readonly client: ContainerdClient;

  constructor(client: ContainerdClient) {
    this.client = client;
  }

  async resolve(ref: string): Promise<ResolvedImage> {
    const name = normalizeImageName(ref);
    const image = await this.client.images.Get({ name }).catch((err: unknown) => {
      if (isTsnerdError(err, 'not-found')) throw notFound(`no such image: "${ref}"`, { cause: err });
      throw err;
    });
    let target = image.image?.target;
    if (!target) throw notFound(`no such image: "${ref}"`);
    if (isIndexType(target.media_type)) {
      const index = parseDocument(IndexSchema, await this.read(target.digest), `index of "${name}"`);
      const chosen = selectManifest(index, LINUX_AMD64);
      if (!chosen) throw invalid(`image "${name}" has no linux/amd64 manifest`);
      target = { media_type: chosen.mediaType, digest: chosen.digest, size: String(chosen.size), annotations: {} };
    }
    const manifest = parseDocument(ManifestSchema, await this.read(target.digest), `manifest of "${name}"`);
    const config = parseDocument(ImageConfigSchema, await this.read(manifest.config.digest), `config of "${name}"`);
    const chain = chainIds(config.rootfs.diff_ids);
    const top = chain.at(-1);
    if (!top) throw invalid(`image "${name}" has no layers`);
    const c = config.config ?? {};
    return {
      name,
      chainId: top,
      config: { Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir ?? '', User: c.User ?? '', ExposedPorts: c.ExposedPorts ?? {} },
    };
  }

  private async read(digest: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const part of this.client.content.Read({ digest })) chunks.push(part.data);
    return Buffer.concat(chunks);
  }
}
