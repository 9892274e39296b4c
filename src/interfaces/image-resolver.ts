/** Looks up a local image for `run`/`create`. */
import type { ImageRuntimeConfig } from '../domain/oci/spec.ts';

export interface ResolvedImage {
  /** The normalised reference, e.g. docker.io/library/busybox:latest. */
  name: string;
  config: ImageRuntimeConfig;
  /** chainID of the top layer: the parent of the container's snapshot. */
  chainId: string;
}

export interface ImageResolver {
  /** Throws `not-found` when the image is not in containerd. */
  resolve(ref: string): Promise<ResolvedImage>;
}
