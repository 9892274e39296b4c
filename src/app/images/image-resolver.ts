/** The ImageResolver that `run`/`create` use, over the image backend. */
import type { ImageBackend } from '../../interfaces/image-backend.ts';
import type { ImageResolver, ResolvedImage } from '../../interfaces/image-resolver.ts';
import type { RunConfigCache } from '../../interfaces/run-config-cache.ts';
import { resolveImage } from './resolve-image.ts';

export class BackendImageResolver implements ImageResolver {
  private readonly backend: ImageBackend;
  private readonly cache: RunConfigCache | undefined;

  constructor(backend: ImageBackend, cache?: RunConfigCache) {
    this.backend = backend;
    this.cache = cache;
  }

  async resolve(ref: string): Promise<ResolvedImage> {
    const image = await resolveImage(this.backend, ref, this.cache);
    const c = image.config;
    return {
      name: image.name,
      chainId: image.chainId,
      config: {
        Entrypoint: c.entrypoint,
        Cmd: c.cmd,
        Env: c.env,
        WorkingDir: c.workingDir,
        User: c.user,
        ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])),
      },
    };
  }
}
