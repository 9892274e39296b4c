/** JSON files in a container's state dir, replaced atomically (none of them is bind-mounted). */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateFiles } from '../../domain/store-layout.ts';
import type { ContainerStateFiles, Lifecycle, NetworkConfigFile } from '../../interfaces/container-state.ts';

export class FileContainerStateFiles implements ContainerStateFiles {
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
