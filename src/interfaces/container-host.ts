/** The host-side pieces of a container's life that are not containerd's. */
import type { RootfsMount } from './container-runtime.ts';

export interface ContainerHost {
  /**
   * Reads files (paths inside the container) from a prepared rootfs by
   * mounting it briefly; a missing file is `undefined`.
   */
  readRootfsFiles(mounts: RootfsMount[], paths: string[]): Promise<(string | undefined)[]>;
  /** Makes the container's state dir (0700). */
  createStateDir(path: string): Promise<void>;
  /** Removes the state dir and everything in it; a missing dir is fine. */
  removeStateDir(path: string): Promise<void>;
  /** The host's RLIMIT_NOFILE, which a container must not exceed. */
  nofileLimit(): Promise<{ soft: number; hard: number }>;
  /**
   * Starts a detached process that waits for the container's task to exit and
   * then removes the container (`run -d --rm`).
   */
  spawnAutoRemove(id: string): void;
}
