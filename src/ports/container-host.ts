/** The host-side pieces of a container's life that are not containerd's. */
export interface ContainerHost {
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
