/** Host side of create-time networking: mounted files, used ports, the hook command. */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { settingsToArgs, type Settings } from '../../domain/settings.ts';
import type { StoreLayout } from '../../domain/store-layout.ts';
import type { OciHook } from '../../domain/oci/spec.ts';
import { fromNerdctlPortMapping, usedPortsOf, type UsedPort } from '../../domain/publish/index.ts';
import type { ContainerNetworkHost } from '../../interfaces/container-network-host.ts';
import type { ContainerStateFiles } from '../../interfaces/container-state.ts';
import { readUsedHostPorts } from './proc-net-ports.ts';
import { readCreationClaim } from './creation-claim.ts';
import { hostBootTime } from './proc.ts';
import { hookPath, runtimeArgv } from './daemon-process.ts';
import { hookCommand } from './hook-server-process.ts';
import { requestEnv } from './request-env.ts';
import { withLockedFile } from '../store/flock.ts';
import { writeFileNamed } from '../store/write-file.ts';

/** The compiled CLI entry the hook runs (dist/cli.js beside dist/adapters/). */
const CLI_ENTRY = fileURLToPath(new URL('../../cli.js', import.meta.url));

export class LinuxContainerNetworkHost implements ContainerNetworkHost {
  private readonly settings: Settings;
  private readonly layout: StoreLayout;
  private readonly state: ContainerStateFiles;

  constructor(settings: Settings, layout: StoreLayout, state: ContainerStateFiles) {
    this.settings = settings;
    this.layout = layout;
    this.state = state;
  }

  async writeMountedFile(path: string, content: string): Promise<void> {
    // 'w' truncates in place: the inode a bind mount points at stays the same.
    writeFileNamed(path, content, { mode: 0o644 }); // small, on every run's path: synchronous
  }

  async usedPorts(exceptStateDir?: string): Promise<UsedPort[]> {
    return [...(await readUsedHostPorts()), ...(await this.publishedByContainers(exceptStateDir))];
  }

  withPortLock<T>(fn: () => Promise<T>): Promise<T> {
    return withLockedFile(join(this.layout.root, 'ports.lock'), fn);
  }

  hook(event: 'createRuntime' | 'postStop'): OciHook {
    const env = [...Object.entries(requestEnv()).flatMap(([k, v]) => (k === 'PATH' ? [] : [`${k}=${v}`])), `PATH=${hookPath()}`];
    const [node, args] = runtimeArgv(CLI_ENTRY, ['internal', 'oci-hook', event, ...settingsToArgs(this.settings)]);
    // The perl hook client in front when the hook server is on (hook-server-process.ts), else the node hook process.
    const argv = hookCommand(this.layout.root, [node, ...args], requestEnv());
    return { path: argv[0]!, args: argv, env };
  }

  /** Ports of every container of this data store (all namespaces) that has not been stopped nor abandoned while being created. */
  private async publishedByContainers(exceptStateDir: string | undefined): Promise<UsedPort[]> {
    const except = exceptStateDir === undefined ? undefined : resolve(exceptStateDir);
    const used: UsedPort[] = [];
    const root = join(this.layout.root, 'containers');
    for (const ns of await readdirOrEmpty(root)) {
      for (const id of await readdirOrEmpty(join(root, ns))) {
        const dir = join(root, ns, id);
        if (resolve(dir) === except) continue;
        const config = await this.state.readNetworkConfig(dir).catch(() => undefined);
        if (!config?.portMappings.length) continue;
        const lifecycle = await this.state.readLifecycle(dir).catch(() => undefined);
        if (lifecycle?.stopped_at) continue;
        // Its task died without a stop (a reboot, a containerd or shim crash, or it exited): no forwards hold them.
        if (lifecycle?.pid && !(await taskAlive(lifecycle.pid, lifecycle.started_at))) continue;
        // A `run` killed before its container existed: nothing can ever use these ports.
        const claim = await readCreationClaim(dir).catch(() => undefined);
        if (claim && !claim.ownerAlive) continue;
        used.push(...usedPortsOf(config.portMappings.map(fromNerdctlPortMapping)));
      }
    }
    return used;
  }
}

/**
 * Whether the init process createRuntime recorded still runs: its pid exists
 * and the host has not booted since it started (a pid is reused after a boot).
 */
async function taskAlive(pid: number, startedAt: string | undefined): Promise<boolean> {
  const proc = await stat(`/proc/${pid}`).catch(() => undefined);
  if (!proc) return false;
  if (startedAt === undefined) return true;
  return Date.parse(startedAt) >= (await hostBootTime());
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
