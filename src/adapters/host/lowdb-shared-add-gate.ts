/**
 * SharedAddGate over lowdb: `<store root>/shared-add.json` remembers, for this
 * boot (`/proc/sys/kernel/random/boot_id`), the bridges whose shared objects an
 * exclusive ADD set up, with their ifindex (`/sys/class/net/<bridge>/ifindex`).
 * Written only under the exclusive CNI lock, read by every createRuntime.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Low, LowSync } from 'lowdb';
import { JSONFile, JSONFileSync } from '../store/lowdb-files.ts';
import type { NetworkConfigList } from '../../domain/cni/net-conf.ts';
import { mayShare, rememberSetUp, sharableBridge, type SharedAddFacts } from '../../domain/cni/shared-add.ts';
import type { SharedAddGate } from '../../interfaces/shared-add-gate.ts';
import { bootId } from './proc.ts';

export const SHARED_ADD_FILE = 'shared-add.json';

export class LowdbSharedAddGate implements SharedAddGate {
  private readonly file: string;

  constructor(storeRoot: string) {
    this.file = join(storeRoot, SHARED_ADD_FILE);
  }

  async allows(lists: readonly NetworkConfigList[], ports: boolean): Promise<boolean> {
    const names = bridgesOf(lists);
    if (names === undefined) return false;
    return mayShare(this.read(), bootId(), withIfindex(names), ports);
  }

  async remember(lists: readonly NetworkConfigList[], ports: boolean): Promise<void> {
    const names = lists.map(sharableBridge).filter((b): b is string => b !== undefined);
    if (names.length === 0) return;
    const facts = this.read();
    const next = rememberSetUp(facts, bootId(), withIfindex(names), ports);
    if (JSON.stringify(next) === JSON.stringify(facts)) return;
    const db = new Low<SharedAddFacts>(new JSONFile<SharedAddFacts>(this.file), next);
    await db.write();
  }

  /** Synchronous, as the two small reads beside it: every createRuntime makes them before the CNI lock. */
  private read(): SharedAddFacts | undefined {
    const db = new LowSync<SharedAddFacts>(new JSONFileSync<SharedAddFacts>(this.file), { boot: '', bridges: {} });
    // Missing or damaged: nothing is known, the next exclusive ADD writes it again.
    try {
      db.read();
    } catch {
      // damaged
    }
    const d = db.data as Partial<SharedAddFacts> | null;
    return typeof d?.boot === 'string' && d.boot !== '' && typeof d.bridges === 'object' && d.bridges !== null
      ? { boot: d.boot, bridges: d.bridges }
      : undefined;
  }
}

/** The bridge of every list, or undefined when one of them may never share. */
function bridgesOf(lists: readonly NetworkConfigList[]): string[] | undefined {
  const names: string[] = [];
  for (const list of lists) {
    const bridge = sharableBridge(list);
    if (bridge === undefined) return undefined;
    names.push(bridge);
  }
  return names;
}

function withIfindex(names: readonly string[]): { name: string; ifindex: number | undefined }[] {
  return names.map((name) => {
    // A conflist written by hand may name anything: only a plain link name is looked up.
    if (name.includes('/') || name === '.' || name === '..') return { name, ifindex: undefined };
    const n = Number.parseInt(readOr(`/sys/class/net/${name}/ifindex`), 10);
    return { name, ifindex: Number.isInteger(n) && n > 0 ? n : undefined };
  });
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
