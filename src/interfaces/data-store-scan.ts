/** The per-container parts of tsnerd's data store, walked whole: what garbage collection compares with containerd. */
import type { CreationClaim } from './container-host.ts';

export interface StoredName {
  namespace: string;
  name: string;
  /** The file's content as read (the owning container ID, or garbage). */
  owner: string;
  modifiedAt: Date;
}

export interface StoredDir {
  namespace: string;
  id: string;
  path: string;
  /** The newest modification time of the dir and the files in it. */
  modifiedAt: Date;
}

export interface DataStoreScan {
  names(): Promise<StoredName[]>;
  /** Removes the name file if it still holds `owner`. */
  removeName(n: StoredName): Promise<void>;
  /** containers/<ns>/<id> */
  stateDirs(): Promise<StoredDir[]>;
  /** etchosts/<ns>/<id> */
  hostsDirs(): Promise<StoredDir[]>;
  removeDir(path: string): Promise<void>;
  /** The newest modification time in a dir (undefined when it does not exist). */
  lastActivity(path: string): Promise<Date | undefined>;
  /** A state dir's creation claim (`creating`): undefined when there is none. */
  creationClaim(stateDir: string): Promise<CreationClaim | undefined>;
  /** The `start_deadline` a start in flight wrote into the state dir's lifecycle.json (epoch ms). */
  startDeadline(stateDir: string): Promise<number | undefined>;
  /** The init process the createRuntime hook recorded in lifecycle.json: its pid and start time. */
  initProcess(stateDir: string): Promise<{ pid: number; start: string } | undefined>;
}
