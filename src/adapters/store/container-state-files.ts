/** JSON files in a container's state dir, replaced atomically (none of them is bind-mounted). */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateFiles } from '../../domain/store-layout.ts';
import type { ContainerStateFiles, HookFailure, Lifecycle, NetworkConfigFile } from '../../interfaces/container-state.ts';

export class FileContainerStateFiles implements ContainerStateFiles {
  async readHookFailure(stateDir: string): Promise<HookFailure | undefined> {
    const path = join(stateDir, StateFiles.createRuntimeError);
    try {
      const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      const { kind, message } = JSON.parse(text) as Partial<HookFailure>;
      if (typeof kind !== 'string' || typeof message !== 'string') return undefined;
      return { kind, message, at: info.mtime };
    } catch {
      return undefined; // none, or unreadable: the runtime's own error is shown instead
    }
  }

  async readNetworkConfig(stateDir: string): Promise<NetworkConfigFile> {
    const data = await readJson<Partial<NetworkConfigFile>>(join(stateDir, StateFiles.networkConfig));
    return { portMappings: data?.portMappings ?? [] };
  }

  async writeNetworkConfig(stateDir: string, config: NetworkConfigFile): Promise<void> {
    await writeJsonAtomic(join(stateDir, StateFiles.networkConfig), config);
  }

  async readLifecycle(stateDir: string): Promise<Lifecycle> {
    return (await readJson<Lifecycle>(join(stateDir, StateFiles.lifecycle))) ?? {};
  }

  async writeLifecycle(stateDir: string, lifecycle: Lifecycle): Promise<void> {
    await writeJsonAtomic(join(stateDir, StateFiles.lifecycle), lifecycle);
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
  await rename(tmp, path);
}
