import type { HostsMeta } from '../domain/dns/hosts-file.ts';

/** Per-namespace store of container hosts files and the metas they are built from. */
export interface HostsStore {
  /** Creates the container's hosts file with `content` unless it already exists; returns its path. */
  allocate(ns: string, id: string, content: string): Promise<string>;
  /** Records the container as running on its networks and rewrites every hosts file of the namespace. */
  acquire(ns: string, meta: HostsMeta): Promise<void>;
  /** Forgets the running container (keeps its hosts file for a restart) and rewrites the others. */
  release(ns: string, id: string): Promise<void>;
  /** Removes the container's hosts dir entirely. */
  delete(ns: string, id: string): Promise<void>;
  /** Metas of the running containers of a namespace. */
  list(ns: string): Promise<HostsMeta[]>;
}
