/**
 * BridgeRegistry in a lowdb document, `<store root>/bridges.json`, changed
 * under flock(`bridges.json.lock`) (network create and rm hold the conf dir's
 * lock, `network gc` does not). A link recorded for one conflist is stored as
 * `{network, file}` (the only form before namespaces could share a link), for
 * several as a list of them.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from './lowdb-files.ts';
import type { BridgeRegistry, OwnBridge } from '../../interfaces/bridge-registry.ts';
import { withFlock } from './flock.ts';

interface Entry {
  network: string;
  file: string;
}

interface BridgesDoc {
  bridges: Record<string, Entry | Entry[]>;
}

const exists = async (file: string): Promise<boolean> => (await stat(file).catch(() => undefined)) !== undefined;

export class LowdbBridgeRegistry implements BridgeRegistry {
  private readonly file: string;

  constructor(storeRoot: string) {
    this.file = join(storeRoot, 'bridges.json');
  }

  async record(b: Omit<OwnBridge, 'conflistPresent'>): Promise<() => Promise<void>> {
    let added = false;
    await this.change(async (doc) => {
      const entries = entriesOf(doc, b.link);
      if (entries.some((e) => e.file === b.file)) return;
      added = true;
      setEntries(doc, b.link, [...entries, { network: b.network, file: b.file }]);
    });
    // Only what this call added: a record that was there is another create's (the conf dir's lock orders creates of one file).
    return added ? () => this.remove(b.link, b.file) : async () => {};
  }

  forget(link: string, file: string): Promise<void> {
    return this.remove(link, file, { onlyIfGone: true });
  }

  async list(): Promise<OwnBridge[]> {
    const doc = await this.read();
    const out: OwnBridge[] = [];
    for (const link of Object.keys(doc.data.bridges)) {
      for (const e of entriesOf(doc.data, link))
        out.push({ link, network: e.network, file: e.file, conflistPresent: await exists(e.file) });
    }
    return out;
  }

  private remove(link: string, file: string, opts: { onlyIfGone?: boolean } = {}): Promise<void> {
    return this.change(async (doc) => {
      if (opts.onlyIfGone && (await exists(file))) return;
      setEntries(
        doc,
        link,
        entriesOf(doc, link).filter((e) => e.file !== file),
      );
    });
  }

  private change(fn: (doc: BridgesDoc) => Promise<void>): Promise<void> {
    return withFlock(`${this.file}.lock`, async () => {
      const db = await this.read();
      const before = JSON.stringify(db.data);
      await fn(db.data);
      if (JSON.stringify(db.data) !== before) await db.write();
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

function isEntry(v: unknown): v is Entry {
  return typeof v === 'object' && v !== null && typeof (v as Entry).network === 'string' && typeof (v as Entry).file === 'string';
}

function entriesOf(doc: BridgesDoc, link: string): Entry[] {
  const v: unknown = doc.bridges[link];
  return (Array.isArray(v) ? (v as unknown[]) : [v]).filter(isEntry);
}

function setEntries(doc: BridgesDoc, link: string, entries: Entry[]): void {
  if (entries.length === 0) delete doc.bridges[link];
  else doc.bridges[link] = entries.length === 1 ? entries[0]! : entries;
}
