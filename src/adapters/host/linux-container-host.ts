/**
 * Host side of containers: state dirs, rlimits, and the detached
 * `tsnerd internal auto-remove <id>` process that reaps `run -d --rm`.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { internal } from '../../domain/errors.ts';
import type { ContainerHost, CreationClaim } from '../../interfaces/container-host.ts';
import { faultPoint } from './fault-injection.ts';
import { killProcess, shimPids, signalIfAlive } from './proc.ts';
import { runtimeArgv } from './daemon-process.ts';
import { requestEnv, requestProc } from './request-env.ts';
import { readCreationClaim, removeCreationClaim, writeCreationClaim, writeRemovalClaim } from './creation-claim.ts';
import type { RootfsMount } from '../../interfaces/container-runtime.ts';

export class LinuxContainerHost implements ContainerHost {
  private readonly cliArgs: string[];
  private readonly containerd: { address: string; namespace: string };

  /** `cliArgs`: the global flags the reaper needs to see our settings; `containerd`: whose shims are ours. */
  constructor(cliArgs: string[], containerd: { address: string; namespace: string }) {
    this.cliArgs = cliArgs;
    this.containerd = containerd;
  }

  async readRootfsFiles(mounts: RootfsMount[], paths: string[]): Promise<(string | undefined)[]> {
    const [mount, ...more] = mounts;
    if (!mount || more.length > 0) throw internal(`cannot read a rootfs made of ${mounts.length} mounts`);
    // Only `-u name` needs this: execa is loaded here, not at every start.
    const { execa } = await import('execa');
    const dir = await mkdtemp(join(tmpdir(), 'tsnerd-rootfs-'));
    try {
      await execa('mount', ['-t', mount.type, ...(mount.options.length ? ['-o', mount.options.join(',')] : []), mount.source, dir]);
      try {
        return await Promise.all(paths.map((p) => readFile(join(dir, p), 'utf8').catch(() => undefined)));
      } finally {
        await execa('umount', [dir]);
      }
    } finally {
      await rmdir(dir).catch(() => {});
    }
  }

  /**
   * Made beside its place with the claim in it, then renamed into place: no
   * one (`network gc`) ever sees the state dir without its claim. The staging
   * dir's name, `.<id>.<pid>.<random>`, names its maker: a kill in between
   * leaves it to gc once that process is gone.
   */
  async createStateDir(path: string, name: string): Promise<void> {
    // Synchronous, as the claim (creation-claim.ts): four small steps on every run's path.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const staging = mkdtempSync(join(dirname(path), `.${basename(path)}.${process.pid}.`));
    try {
      await writeCreationClaim(staging, name, path);
      renameSync(staging, path);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  commitCreation(path: string): Promise<void> {
    return removeCreationClaim(path);
  }

  claimRemoval(path: string, name: string): Promise<void> {
    return writeRemovalClaim(path, name);
  }

  creationClaim(path: string): Promise<CreationClaim | undefined> {
    return readCreationClaim(path);
  }

  async listStateDirs(containersDir: string): Promise<string[]> {
    return readdir(containersDir).catch(() => []);
  }

  killProcess(pid: number, startTime: string): Promise<boolean> {
    return killProcess(pid, startTime);
  }

  async killShims(id: string): Promise<void> {
    for (const pid of await shimPids(this.containerd.address, this.containerd.namespace, id)) signalIfAlive(pid, 'SIGKILL');
  }

  async removeStateDir(path: string): Promise<void> {
    rmSync(path, { recursive: true, force: true }); // a handful of small files: synchronous
  }

  async nofileLimit(): Promise<{ soft: number; hard: number }> {
    // The limits of the process the command was typed in (in the CLI server, its client's), as a
    // CLI process's own; this process's if that one is gone.
    let text: string;
    try {
      text = readFileSync(`${requestProc()}/limits`, 'utf8');
    } catch {
      text = readFileSync('/proc/self/limits', 'utf8');
    }
    const line = text.split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = (line?.slice('Max open files'.length).trim().split(/\s+/) ?? []).map((v) =>
      v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v),
    );
    return { soft: soft ?? 1024, hard: hard ?? 1024 };
  }

  spawnAutoRemove(id: string): void {
    const script = process.argv[1];
    if (!script) return;
    const [command, args] = runtimeArgv(script, ['internal', 'auto-remove', id, ...this.cliArgs]);
    // The command's environment, not the process's: in the CLI server, the client's (PATH for the
    // plugins' DEL, the knobs of the hook server and port holder it may start).
    const child = spawn(command, args, {
      detached: true,
      stdio: 'ignore',
      env: { ...requestEnv() },
    });
    child.unref();
  }

  holdNetns(pid: number): { path: string; release(): void } | undefined {
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/ns/net`, 'r');
    } catch {
      return undefined;
    }
    let open = true;
    return {
      path: `/proc/${process.pid}/fd/${fd}`,
      release: () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  }

  faultPoint(step: string): void {
    faultPoint(step);
  }
}
