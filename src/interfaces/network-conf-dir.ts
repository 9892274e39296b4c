import type { AnyConflist } from '../domain/network/conflist-schema.ts';

export interface ConfFile {
  path: string;
  conflist: AnyConflist;
  modified: Date;
}

/** The CNI conf dir as a store of network definitions. */
export interface NetworkConfDir {
  /**
   * The files a namespace sees (top level + `<namespace>/`) in path order; a
   * broken file is skipped and reported through `warnings`.
   */
  list(namespace: string): Promise<{ files: ConfFile[]; warnings: string[] }>;
  /**
   * Why the file at `path` is not a usable network definition (it is then
   * skipped by `list`), or undefined when it is absent or fine.
   */
  explain?(path: string): Promise<string | undefined>;
  /** Writes a new file (mode 0644, parent dirs created); a conflict error if it exists. */
  create(path: string, content: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  remove(path: string): Promise<void>;
  /** Runs fn under the conf dir's cross-process lock, shared with nerdctl. */
  withLock<T>(fn: () => Promise<T>, opts?: { shared?: boolean }): Promise<T>;
}
