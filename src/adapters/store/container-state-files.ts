/** JSON files in a container's state dir, replaced atomically (none of them is bind-mounted). */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Low, LowSync } from 'lowdb';
import { JSONFile, JSONFileSync } from './lowdb-files.ts';
import { namingPath } from './write-file.ts';
import { StateFiles } from '../../domain/store-layout.ts';
import { internal, notFound } from '../../domain/errors.ts';
import { describeErrno } from '../../domain/errno.ts';
import { quote } from '../../domain/text.ts';
import { parseEndpointsFile, type Endpoint } from '../../domain/network/endpoint.ts';
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
    const path = join(stateDir, StateFiles.networkConfig);
    const data = await readJson<Partial<NetworkConfigFile>>(path);
    const portMappings = data?.portMappings ?? [];
    if (!Array.isArray(portMappings) || !portMappings.every((m) => typeof m === 'object' && m !== null)) {
      throw internal(`store file ${quote(path)}: portMappings is not a list of port mappings`);
    }
    return { portMappings };
  }

  async writeNetworkConfig(stateDir: string, config: NetworkConfigFile): Promise<void> {
    await writeJsonAtomic(join(stateDir, StateFiles.networkConfig), config);
  }

  /**
   * A damaged lifecycle.json reads as empty: every field is optional and only
   * narrows what a caller does (create_error skips one DEL, which is idempotent),
   * so a garbage file must not stop a postStop or an rm from cleaning up.
   */
  async readLifecycle(stateDir: string): Promise<Lifecycle> {
    const data = await readJson<unknown>(join(stateDir, StateFiles.lifecycle)).catch((err: unknown) => {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    });
    return lifecycleFields(data);
  }

  async writeLifecycle(stateDir: string, lifecycle: Lifecycle): Promise<void> {
    await writeJsonAtomic(join(stateDir, StateFiles.lifecycle), lifecycle);
  }

  /** tsnerd's own document, so lowdb (atomic write through a temp file); not a nerdctl file. */
  async readEndpoints(stateDir: string): Promise<Endpoint[] | undefined> {
    const path = join(stateDir, StateFiles.endpoints);
    // Read synchronously, as the other state files: a few hundred bytes, on the hook's path to the CNI lock.
    const db = new LowSync<unknown>(new JSONFileSync<unknown>(path), null);
    db.read();
    return db.data === null ? undefined : parseEndpointsFile(db.data, path);
  }

  async writeEndpoints(stateDir: string, endpoints: readonly Endpoint[]): Promise<void> {
    const db = new Low<{ endpoints: readonly Endpoint[] }>(new JSONFile(join(stateDir, StateFiles.endpoints)), { endpoints });
    // A `network connect`/`disconnect` racing an `rm -f` of the same container: its state dir went meanwhile.
    await db.write().catch((err: unknown) => removedMeanwhile(err, stateDir));
  }
}

/**
 * Synchronous: these files are a few hundred bytes, and the hook reads them on its way to
 * the CNI lock, where each async read costs thread-pool round trips (docs/performance.md).
 */
async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw internal(`cannot read store file ${quote(path)}: ${describeErrno(code)}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw internal(`store file ${quote(path)} is not valid JSON`, { cause: err });
  }
  // A corrupt file must fail here with its name, not as a TypeError where a field is read.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw internal(`store file ${quote(path)} is not a JSON object`);
  return value as T;
}

/** Two writers of one file in one process (the hook server's requests) each have their own temporary file. */
let tmpCounter = 0;

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}-${++tmpCounter}.tmp`;
  // Synchronous: a few small documents per run and per hook, each three thread-pool round trips otherwise.
  try {
    writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
    renameSync(tmp, path);
  } catch (err) {
    // A full disk: no temp file left in the state dir, and the error names the document.
    rmSync(tmp, { force: true });
    // A `start` racing an `rm -f` of the same container (found by the chaos soak): its state dir went meanwhile.
    removedMeanwhile(namingPath(err, path), dirname(path));
  }
}

/** A write into a container's state dir that is gone: the container was removed meanwhile ("not found"). */
function removedMeanwhile(err: unknown, stateDir: string): never {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT')
    throw notFound(`the container was removed meanwhile (${quote(stateDir)} is gone)`, { cause: err });
  throw err;
}

/** The fields of a lifecycle document that have their expected types; anything else is dropped. */
function lifecycleFields(data: unknown): Lifecycle {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return {};
  const d = data as Record<string, unknown>;
  return {
    ...(typeof d['started_at'] === 'string' ? { started_at: d['started_at'] } : {}),
    ...(Number.isInteger(d['pid']) ? { pid: d['pid'] as number } : {}),
    ...(typeof d['pid_start'] === 'string' ? { pid_start: d['pid_start'] } : {}),
    ...(typeof d['create_error'] === 'boolean' ? { create_error: d['create_error'] } : {}),
    ...(typeof d['stopped_at'] === 'string' ? { stopped_at: d['stopped_at'] } : {}),
    ...(typeof d['start_deadline'] === 'number' ? { start_deadline: d['start_deadline'] } : {}),
  };
}
