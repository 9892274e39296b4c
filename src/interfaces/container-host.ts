/** The host-side pieces of a container's life that are not containerd's. */
import type { RootfsMount } from './container-runtime.ts';

export interface ContainerHost {
  /**
   * Reads files (paths inside the container) from a prepared rootfs by
   * mounting it briefly; a missing file is `undefined`.
   */
  readRootfsFiles(mounts: RootfsMount[], paths: string[]): Promise<(string | undefined)[]>;
  /**
   * Makes the container's state dir (0700) holding a creation claim: this
   * process is creating the container named `name`. Until commitCreation, a
   * crash of this process leaves a claim a later command may reclaim.
   */
  createStateDir(path: string, name: string): Promise<void>;
  /** containerd holds the container's record now: drops the claim. */
  commitCreation(path: string): Promise<void>;
  /**
   * Before a removal deletes the container's record: the state dir (if any) claims the container
   * for this process again, as a creation does. A removal killed once the record is gone then
   * leaves a claim whose owner is dead, and its name and state dir are reclaimed as those of a
   * killed creation (`run --name`, `rm`, `network gc`). commitCreation gives it back.
   */
  claimRemoval(path: string, name: string): Promise<void>;
  /** The state dir's creation claim; undefined when there is none (a committed container or no dir). */
  creationClaim(path: string): Promise<CreationClaim | undefined>;
  /** The container IDs that have a state dir under `containersDir`. */
  listStateDirs(containersDir: string): Promise<string[]>;
  /**
   * SIGKILLs the process `pid` if it is still the one that started at `startTime` (/proc's
   * clock ticks after boot) and waits (a few seconds at most) until it has exited. False when
   * no such process is left (gone, or the pid names another process now).
   */
  killProcess(pid: number, startTime: string): Promise<boolean>;
  /**
   * SIGKILLs the containerd shims of task `id` (this namespace, this containerd), for a
   * container containerd lists no task of: a shim left by a containerd that lost the task.
   */
  killShims(id: string): Promise<void>;
  /**
   * Holds the network namespace of process `pid` open until `release()`: `path` names it for the
   * CNI plugins (a path of this process's descriptor) even once that process has exited.
   * undefined when the process is gone already.
   */
  holdNetns(pid: number): { path: string; release(): void } | undefined;
  /** Removes the state dir and everything in it; a missing dir is fine. */
  removeStateDir(path: string): Promise<void>;
  /** The host's RLIMIT_NOFILE, which a container must not exceed. */
  nofileLimit(): Promise<{ soft: number; hard: number }>;
  /**
   * Starts a detached process that waits for the container's task to exit and
   * then removes the container (`run -d --rm`).
   */
  spawnAutoRemove(id: string): void;
  /**
   * Test-only fault injection: TSNERD_FAULT=<step> SIGKILLs this process
   * there, TSNERD_FAULT=fail:<step> fails the step (the e2e fault suite).
   */
  faultPoint(step: string): void;
}

/** A creation in progress, or the trace of one whose process died before the container existed. */
export interface CreationClaim {
  name: string;
  ownerAlive: boolean;
}
