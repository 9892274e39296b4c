/** Container names, unique per containerd namespace. */
export interface NameStore {
  /**
   * Reserves `name` for container `id`. Re-acquiring with the same ID is a
   * no-op; a name owned by another ID is a `conflict`.
   */
  acquire(name: string, id: string): Promise<void>;
  /** Frees `name` if `id` owns it; a missing name is not an error. */
  release(name: string, id: string): Promise<void>;
  /** The ID that owns `name`, if any. */
  owner(name: string): Promise<string | undefined>;
}
