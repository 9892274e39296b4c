/**
 * This host's record of each overlay network it joined, one lowdb document per
 * network: `<data-root>/overlay/<namespace>/<name>/state.json`, next to the
 * agent's pid file, lock and log.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from '../store/lowdb-files.ts';
import { internal } from '../../domain/errors.ts';
import * as z from '../../domain/zod.ts';
import type { OverlayHostState, OverlayStateStore } from '../../interfaces/overlay.ts';
import { overlayStateDir } from './agent-process.ts';

const StateSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  etcdEndpoints: z.array(z.string()),
  etcdPrefix: z.string(),
  network: z.string(),
  subnet: z.string(),
  vni: z.number(),
  port: z.number(),
  publicIp: z.string(),
  iface: z.string(),
  vtepMac: z.string(),
  mtu: z.number(),
  device: z.string(),
  leaseId: z.optional(z.string()),
  namesLeaseId: z.optional(z.string()),
});

export const STATE_FILE = 'state.json';

export class LowdbOverlayStates implements OverlayStateStore {
  private readonly root: string;
  private readonly dataRoot: string;

  constructor(dataRoot: string) {
    this.dataRoot = dataRoot;
    this.root = join(dataRoot, 'overlay');
  }

  dir(namespace: string, name: string): string {
    return overlayStateDir(this.dataRoot, namespace, name);
  }

  async read(namespace: string, name: string): Promise<OverlayHostState | undefined> {
    return readStateFile(join(this.dir(namespace, name), STATE_FILE));
  }

  async write(state: OverlayHostState): Promise<void> {
    await writeStateFile(join(this.dir(state.namespace, state.name), STATE_FILE), state);
  }

  async remove(namespace: string, name: string): Promise<void> {
    await rm(this.dir(namespace, name), { recursive: true, force: true });
  }

  async list(): Promise<OverlayHostState[]> {
    const states: OverlayHostState[] = [];
    for (const ns of await readdir(this.root).catch(() => [] as string[])) {
      for (const name of await readdir(join(this.root, ns)).catch(() => [] as string[])) {
        const s = await this.read(ns, name).catch(() => undefined);
        if (s) states.push(s);
      }
    }
    return states;
  }
}

export async function readStateFile(file: string): Promise<OverlayHostState | undefined> {
  const db = new Low<unknown>(new JSONFile(file), null);
  await db.read();
  if (db.data === null) return undefined;
  const parsed = StateSchema.safeParse(db.data);
  if (!parsed.success) throw internal(`${file} is not an overlay state: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return { ...parsed.data, leaseId: parsed.data.leaseId, namesLeaseId: parsed.data.namesLeaseId };
}

export async function writeStateFile(file: string, state: OverlayHostState): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(file, '..'), { recursive: true });
  const db = new Low<OverlayHostState>(new JSONFile(file), state);
  db.data = state;
  await db.write();
}
