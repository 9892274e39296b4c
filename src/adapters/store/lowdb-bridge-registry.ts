/**
 * BridgeRegistry in a lowdb document, `<store root>/bridges.json`, changed
 * under flock(`bridges.json.lock`) (network create and rm hold the conf dir's
 * lock, `network gc` does not).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { BridgeRegistry, OwnBridge } from '../../interfaces/bridge-registry.ts';
import { withFlock } from './flock.ts';

interface BridgesDoc {
  bridges: Record<string, { network: string; file: string }>;
}

export class LowdbBridgeRegistry implements BridgeRegistry {
  private readonly file: string;

  constructor(storeRoot: string) {
    this.file = join(storeRoot, 'bridges.json');
  }

  record(b: Omit<OwnBridge, 'conflistPresent'>): Promise<void> {
    return this.change((doc) => (doc.bridges[b.link] = { network: b.network, file: b.file }));
  }

  forget(link: string): Promise<void> {
    return this.change((doc) => delete doc.bridges[link]);
  }

  async list(): Promise<OwnBridge[]> {
    const doc = await this.read();
    const out: OwnBridge[] = [];
    for (const [link, b] of Object.entries(doc.data.bridges)) {
      const conflistPresent = (await stat(b.file).catch(() => undefined)) !== undefined;
      out.push({ link, network: b.network, file: b.file, conflistPresent });
    }
    return out;
  }

  private change(fn: (doc: BridgesDoc) => unknown): Promise<void> {
    return withFlock(`${this.file}.lock`, async () => {
      const db = await this.read();
      fn(db.data);
      await db.write();
    });
  }

  private async read(): Promise<Low<BridgesDoc>> {
    const db = new Low<BridgesDoc>(new JSONFile<BridgesDoc>(this.file), { bridges: {} });
    // A damaged document records nothing: gc then leaves every bridge alone.
    await db.read().catch(() => undefined);
    if (typeof db.data?.bridges !== 'object' || db.data.bridges === null) db.data = { bridges: {} };
    return db;
  }
}
