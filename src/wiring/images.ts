/** Composes the adapters the image use cases run on. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { invalid, isTsnerdError, notFound } from '../domain/errors.ts';
import type { Settings } from '../domain/settings.ts';
import type { ArchiveEntry } from '../interfaces/archive.ts';
import type { ImageBackend } from '../interfaces/image-backend.ts';
import { ContainerdClient } from '../adapters/containerd/client.ts';
import { ContainerdImageBackend } from '../adapters/containerd/image-backend.ts';
import { readArchive } from '../adapters/archive/tar-reader.ts';
import { HttpRegistry } from '../adapters/registry/http-registry.ts';
import { dockerConfigPath } from '../adapters/registry/docker-credentials.ts';
import type { Registry } from '../interfaces/registry.ts';
import { quote } from '../domain/text.ts';

export interface ImagesHandle {
  backend: ImageBackend;
  close(): void;
}

export async function openImages(settings: Settings): Promise<ImagesHandle> {
  const client = await ContainerdClient.connect({ address: settings.address, namespace: settings.namespace });
  return { backend: new ContainerdImageBackend(client), close: () => client.close() };
}

export function openRegistry(opts: { insecure: boolean }): Registry {
  return new HttpRegistry({ insecure: opts.insecure, dockerConfig: dockerConfigPath() });
}

/** The entries of an image archive in a file, or on stdin when no file is given. */
export async function openArchive(file: string | undefined): Promise<AsyncIterable<ArchiveEntry>> {
  if (file === undefined) {
    if (process.stdin.isTTY) throw invalid('no archive given: use -i FILE or pipe an archive to stdin');
    return readArchive(process.stdin);
  }
  const info = await stat(file).catch(() => {
    throw notFound(`archive ${quote(file)} does not exist`);
  });
  if (!info.isFile()) throw invalid(`archive ${quote(file)} is not a file`);
  return named(file, readArchive(createReadStream(file)));
}

/** Read errors name the archive, e.g. `archive "x.tar": not a tar archive`, also those met inside an entry. */
async function* named(file: string, entries: AsyncIterable<ArchiveEntry>): AsyncGenerator<ArchiveEntry> {
  const rename = (err: unknown) => (isTsnerdError(err, 'invalid') ? invalid(`archive "${file}": ${err.message}`, { cause: err }) : err);
  async function* body(inner: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      yield* inner;
    } catch (err) {
      throw rename(err);
    }
  }
  try {
    for await (const entry of entries) yield { ...entry, body: body(entry.body) };
  } catch (err) {
    throw rename(err);
  }
}
