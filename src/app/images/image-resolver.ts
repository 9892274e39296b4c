/** The ImageResolver that `run`/`create` use, over the image backend. */
import type { ImageBackend } from '../../ports/image-backend.ts';
import type { ImageResolver, ResolvedImage } from '../../ports/image-resolver.ts';
import { resolveImage } from './resolve-image.ts';

export class BackendImageResolver implements ImageResolver {
  private readonly backend: ImageBackend;

  constructor(backend: ImageBackend) {
    this.backend = backend;
  }

  async resolve(ref: string): Promise<ResolvedImage> {
    const image = await resolveImage(this.backend, ref);
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
