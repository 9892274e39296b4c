/**
 * OCI and Docker image documents (index, manifest, config), the facts of them
 * containerd needs (chain IDs, garbage-collection labels) and platform choice.
 */
import { createHash } from 'node:crypto';
import { invalid } from '../errors.ts';
import * as z from '../zod.ts';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const isIndexType = (t: string) => t === MEDIA.ociIndex || t === MEDIA.dockerList;
export const isManifestType = (t: string) => t === MEDIA.ociManifest || t === MEDIA.dockerManifest;

export const DigestSchema = z.string().check(z.regex(/^sha256:[a-f0-9]{64}$/, 'not a sha256 digest'));

export const DescriptorSchema = z.object({
  mediaType: z.string(),
  digest: DigestSchema,
  size: z.number().check(z.int(), z.nonnegative()),
  annotations: z.optional(z.record(z.string(), z.string())),
  platform: z.optional(z.object({ os: z.string(), architecture: z.string(), variant: z.optional(z.string()) })),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

export const IndexSchema = z.object({
  mediaType: z.optional(z.string()),
  manifests: z.array(DescriptorSchema),
});
export type ImageIndex = z.infer<typeof IndexSchema>;

export const ManifestSchema = z.object({
  mediaType: z.optional(z.string()),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
});
export type ImageManifest = z.infer<typeof ManifestSchema>;

const stringList = z.nullish(z.array(z.string()));

export const ImageConfigSchema = z.object({
  created: z.optional(z.string()),
  architecture: z.optional(z.string()),
  os: z.optional(z.string()),
  config: z.optional(
    z.object({
      Env: stringList,
      Cmd: stringList,
      Entrypoint: stringList,
      WorkingDir: z.optional(z.string()),
      User: z.optional(z.string()),
      ExposedPorts: z.nullish(z.record(z.string(), z.unknown())),
      Labels: z.nullish(z.record(z.string(), z.string())),
    }),
  ),
  rootfs: z.object({ type: z.string(), diff_ids: z.array(DigestSchema) }),
});
export type ImageConfigDocument = z.infer<typeof ImageConfigSchema>;

/** The parts of an image config that decide how a container runs. */
export interface RunConfig {
  env: string[];
  cmd: string[];
  entrypoint: string[];
  workingDir: string;
  user: string;
  exposedPorts: string[];
  labels: Record<string, string>;
}

export function runConfigOf(doc: ImageConfigDocument): RunConfig {
  const c = doc.config ?? {};
  return {
    env: c.Env ?? [],
    cmd: c.Cmd ?? [],
    entrypoint: c.Entrypoint ?? [],
    workingDir: c.WorkingDir ?? '',
    user: c.User ?? '',
    exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    labels: c.Labels ?? {},
  };
}

/** Parses a JSON document with a schema; `what` names it in the error. */
export function parseDocument<T>(schema: z.ZodMiniType<T>, bytes: Uint8Array | string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${what} is malformed: ${issue ? `${issue.path.join('.') || 'document'}: ${issue.message}` : 'unknown'}`);
  }
  return parsed.data;
}

/** Chain IDs of a layer stack: the snapshot names containerd uses for each level. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const id of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? id : `sha256:${createHash('sha256').update(`${prev} ${id}`).digest('hex')}`);
  }
  return out;
}

export interface PlatformWanted {
  os: string;
  architecture: string;
}

export const LINUX_AMD64: PlatformWanted = { os: 'linux', architecture: 'amd64' };

export function selectManifest(index: ImageIndex, want: PlatformWanted): Descriptor | undefined {
  return index.manifests.find(
    (m) => isManifestType(m.mediaType) && m.platform?.os === want.os && m.platform.architecture === want.architecture,
  );
}

/** containerd's labels that make a parent blob keep its children alive through GC. */
export const GC_LABEL = {
  content: 'containerd.io/gc.ref.content',
  snapshotOverlay: 'containerd.io/gc.ref.snapshot.overlayfs',
  uncompressed: 'containerd.io/uncompressed',
} as const;

export function manifestGcLabels(m: ImageManifest): Record<string, string> {
  const labels: Record<string, string> = { [`${GC_LABEL.content}.config`]: m.config.digest };
  m.layers.forEach((l, i) => (labels[`${GC_LABEL.content}.l.${i}`] = l.digest));
  return labels;
}

export function indexGcLabels(index: ImageIndex): Record<string, string> {
  const labels: Record<string, string> = {};
  index.manifests.forEach((m, i) => (labels[`${GC_LABEL.content}.m.${i}`] = m.digest));
  return labels;
}
