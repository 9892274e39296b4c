/** What `run` needs of an image, remembered by the digest of the image's target (immutable content). */
import type { RunConfig } from '../domain/oci/image.ts';

export interface CachedRunConfig {
  config: RunConfig;
  chainId: string;
}

export interface RunConfigCache {
  /** undefined when not cached (or the entry is unreadable). */
  get(targetDigest: string): Promise<CachedRunConfig | undefined>;
  /** Best effort: a failure to store is not an error. */
  put(targetDigest: string, value: CachedRunConfig): Promise<void>;
}
