/**
 * RestartMarker: `/proc/sys/kernel/random/boot_id` plus the change time of
 * containerd's socket (containerd recreates it at every start), remembered in
 * a lowdb document `<store root>/restart-marker.json`.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { RestartMarker } from '../../interfaces/restart-marker.ts';

interface MarkerDoc {
  marker?: string;
}

export class LowdbRestartMarker implements RestartMarker {
  private readonly file: string;
  private readonly socket: string;

  constructor(storeRoot: string, containerdSocket: string) {
    this.file = join(storeRoot, 'restart-marker.json');
    this.socket = containerdSocket.replace(/^unix:\/\//, '');
  }

  async current(): Promise<string> {
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
    const started = (await stat(this.socket).catch(() => undefined))?.ctimeMs ?? 0;
    return `${bootId} ${Math.trunc(started)}`;
  }

  async remembered(): Promise<string | undefined> {
    const db = new Low<MarkerDoc>(new JSONFile<MarkerDoc>(this.file), {});
    // A damaged document is as good as none: the next reconciliation rewrites it.
    await db.read().catch(() => undefined);
    return typeof db.data?.marker === 'string' ? db.data.marker : undefined;
  }

  async remember(marker: string): Promise<void> {
    const db = new Low<MarkerDoc>(new JSONFile<MarkerDoc>(this.file), {});
    db.data = { marker };
    await db.write();
  }
}
