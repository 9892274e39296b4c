/** `tsnerd rmi`: deletes image records; containerd's GC reclaims content and snapshots. */
import { ErrorList, notFound } from '../../domain/errors.ts';
import type { ImageBackend } from '../../interfaces/image-backend.ts';
import { findImage } from './resolve-image.ts';
import { quote } from '../../domain/text.ts';

/** Removes each image; failures are reported together after trying all. Returns the names removed. */
export async function removeImages(backend: ImageBackend, refs: string[], opts: { force: boolean }): Promise<string[]> {
  const errors = new ErrorList();
  const removed: string[] = [];
  for (const ref of refs) {
    await errors.attempt(async () => {
      const record = await findImage(backend, ref);
      if (!record) {
        if (opts.force) return;
        throw notFound(`no such image: ${quote(ref)}`);
      }
      await backend.deleteImage(record.name);
      removed.push(record.name);
    });
  }
  errors.throwIfAny();
  return removed;
}
