/**
 * The OCI distribution API over fetch: manifests and blobs, with the anonymous
 * or credentialed bearer-token flow and basic auth.
 */
import { TsnerdError, notFound, unavailable } from '../../domain/errors.ts';
import { MEDIA } from '../../domain/oci/image.ts';
import { formatImageRef, registryHost, type ImageRef } from '../../domain/image-ref.ts';
import type { FetchedManifest, Registry } from '../../interfaces/registry.ts';
import { loadCredentials, type Credentials } from './docker-credentials.ts';

const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');
const REQUEST_TIMEOUT_MS = 30_000;

export interface HttpRegistryOptions {
  /** Plain HTTP instead of HTTPS. */
  insecure: boolean;
  dockerConfig: string;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string): Challenge | undefined {
  const m = /^(\w+)\s*(.*)$/.exec(header.trim());
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

export class HttpRegistry implements Registry {
  private readonly options: HttpRegistryOptions;
  /** Authorization header per repository, once a challenge has been answered. */
  private readonly auth = new Map<string, string>();

  constructor(options: HttpRegistryOptions) {
    this.options = options;
  }

  async getManifest(ref: ImageRef, reference: string): Promise<FetchedManifest> {
    const res = await this.request(ref, `manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    const bytes = Buffer.from(await res.arrayBuffer());
    const header = res.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
    let mediaType = header;
    if (header === '' || header === 'application/json') {
      try {
        mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? MEDIA.ociManifest;
      } catch {
        mediaType = MEDIA.ociManifest;
      }
    }
    return { mediaType, bytes };
  }

  async *getBlob(ref: ImageRef, digest: string): AsyncGenerator<Uint8Array> {
    const res = await this.request(ref, `blobs/${digest}`, {}, false);
    if (!res.body) return;
    yield* res.body;
  }

  private url(ref: ImageRef, tail: string): string {
    return `${this.options.insecure ? 'http' : 'https'}://${registryHost(ref.domain)}/v2/${ref.path}/${tail}`;
  }

  private async request(ref: ImageRef, tail: string, headers: Record<string, string>, withDeadline = true): Promise<Response> {
    const url = this.url(ref, tail);
    const send = (authorization?: string) =>
      this.fetch(
        url,
        {
          headers: { ...headers, ...(authorization ? { authorization } : {}) },
          ...(withDeadline ? { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) } : {}),
        },
        ref,
      );
    let res = await send(this.auth.get(ref.path));
    if (res.status === 401) {
      const authorization = await this.authorize(ref, res.headers.get('www-authenticate') ?? '');
      await res.body?.cancel();
      if (authorization) {
        this.auth.set(ref.path, authorization);
        res = await send(authorization);
      }
    }
    if (res.ok) return res;
    await res.body?.cancel();
    const name = formatImageRef(ref);
    if (res.status === 404)
      throw notFound(`${tail.startsWith('blobs/') ? `blob ${tail.slice(6)} of` : 'image'} "${name}" not found in registry ${ref.domain}`);
    if (res.status === 401 || res.status === 403)
      throw new TsnerdError('invalid', `pull access denied for "${name}": not authorized by registry ${ref.domain}`);
    throw unavailable(`registry ${ref.domain} answered ${res.status} ${res.statusText} for "${name}"`);
  }

  private async fetch(url: string, init: RequestInit, ref: ImageRef): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      if ((err as Error).name === 'TimeoutError')
        throw new TsnerdError('timeout', `registry ${ref.domain} did not answer in time`, { cause: err });
      throw unavailable(`cannot reach registry ${ref.domain}: ${why}`, { cause: err });
    }
  }

  private async authorize(ref: ImageRef, header: string): Promise<string | undefined> {
    const challenge = parseChallenge(header);
    const creds = await loadCredentials(this.options.dockerConfig, ref.domain);
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (challenge?.scheme === 'basic') return basic;
    if (challenge?.scheme !== 'bearer' || !challenge.params['realm']) return undefined;
    return this.bearerToken(ref, challenge.params, creds, basic);
  }

  private async bearerToken(
    ref: ImageRef,
    params: Record<string, string>,
    creds: Credentials | undefined,
    basic: string | undefined,
  ): Promise<string | undefined> {
    const url = new URL(params['realm']!);
    if (params['service']) url.searchParams.set('service', params['service']);
    url.searchParams.set('scope', params['scope'] ?? `repository:${ref.path}:pull`);
    const res = await this.fetch(
      url.toString(),
      { headers: basic ? { authorization: basic } : {}, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      ref,
    );
    if (!res.ok) {
      await res.body?.cancel();
      throw new TsnerdError(
        'invalid',
        `registry ${ref.domain} refused a token${creds ? ` for user "${creds.username}"` : ''}: ${res.status}`,
      );
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }
}
