/**
 * RestartMarker: `/proc/sys/kernel/random/boot_id` plus the change time of
 * containerd's socket (containerd recreates it at every start), remembered in
 * a lowdb document `<store root>/restart-marker.json`.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Low, LowSync } from 'lowdb';
import { JSONFile, JSONFileSync } from './lowdb-files.ts';
import type { RestartMarker } from '../../interfaces/restart-marker.ts';
import { bootId } from '../host/proc.ts';

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

  // Reads are synchronous: every createRuntime makes them before anything else (docs/performance.md).
  async current(): Promise<string> {
    let started = 0;
    try {
      started = statSync(this.socket).ctimeMs;
    } catch {
      // no socket: containerd is not running (then the hook is not either)
    }
    return `${bootId()} ${Math.trunc(started)}`;
  }

  async remembered(): Promise<string | undefined> {
    const db = new LowSync<MarkerDoc>(new JSONFileSync<MarkerDoc>(this.file), {});
    // A damaged document is as good as none: the next reconciliation rewrites it.
    try {
      db.read();
    } catch {
      // damaged
    }
    return typeof db.data?.marker === 'string' ? db.data.marker : undefined;
  }

  async remember(marker: string): Promise<void> {
    const db = new Low<MarkerDoc>(new JSONFile<MarkerDoc>(this.file), {});
    db.data = { marker };
    await db.write();
  }
}
