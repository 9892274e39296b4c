/**
 * File-backed HostsStore: etchosts/<ns>/<id>/{hosts,meta.json}.
 *
 * hosts is bind-mounted into the running container, so it is rewritten in
 * place (truncate + write keeps the inode); a rename would leave the container
 * looking at the old file. meta.json is not mounted and is replaced atomically.
 * Every change holds the namespace's lock: flock of `etchosts/<ns>` itself, as
 * nerdctl's hosts store takes it (tsnerd locked a `.lock` file in it before,
 * which nerdctl does not see). A container that joins is inserted
 * into its peers' files; a leave or a delete re-renders the files of the peers it
 * shared a network with; a re-join (new addresses) re-renders all of them.
 *
 * The members index (`etchosts/<ns>/.members.json`, a lowdb document, tsnerd
 * only) holds what the hosts lines need of every running container, so a join
 * reads one file instead of every peer's meta.json (issue 14: a start must not
 * grow with the containers already running). meta.json stays the truth: each
 * entry keeps the stamp (inode, size, mtime, ctime) of the meta.json it was read
 * from, and every join stats each container dir's meta.json: an entry is used
 * only while its stamp is unchanged. So what nerdctl does in the same data root
 * without tsnerd (it does not take tsnerd's lock) is seen at the next join: a
 * meta.json it wrote again (a restart with new addresses, a dir it re-created)
 * is read, one it removed (its stop releases only meta.json) or a dir removed
 * drops the member. A leave or delete re-renders only the files that list the
 * container (the members on a network it was on), and writes the index back.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LowSync } from 'lowdb';
import { DataFileSync } from './lowdb-files.ts';
import { END_MARKER, hostsRenderer, joinLinesOf, withoutContainer, withoutLines, type HostsMeta } from '../../domain/dns/hosts-file.ts';
import type { StoreLayout } from '../../domain/store-layout.ts';
import { StateFiles } from '../../domain/store-layout.ts';
import type { HostsStore } from '../../interfaces/hosts-store.ts';
import { withLockedDir } from './flock.ts';
import { namingPath, rewriteInPlace, writeFileNamed, writeGrowingFirst } from './write-file.ts';

/** The members index's file in `etchosts/<ns>/` (a dot file: no container dir, skipped by every listing). */
export const MEMBERS_INDEX = '.members.json';

/** What the index keeps of a member: the fields its hosts lines are made of (a meta.json without the CNI result's rest). */
type Member = Pick<HostsMeta, 'ID' | 'Hostname' | 'Domainname' | 'ExtraHosts' | 'Name' | 'Aliases'> & {
  Networks: Record<string, { ips: { address: string }[] }> | null;
  /** metaStamp of the meta.json the entry was made from (none in an index written before stamps: read again). */
  stamp?: string;
  /**
   * The size of its hosts file after tsnerd last wrote it: where the end marker is expected, so
   * a join reads the file's last bytes without an fstat first. A hint: checked at every use (the
   * bytes there must be the marker and the file's end), anything else falls back to the fstat.
   */
  size?: number;
};

/** A meta.json as read, with the stamp taken just before the read (a later change shows as another stamp). */
interface StampedMeta {
  meta: HostsMeta;
  stamp: string | undefined;
}

/** What tells one version of a file from another without reading it: undefined when it is missing. */
function metaStamp(path: string): string | undefined {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  return s && `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

interface MembersDoc {
  members: Record<string, Member>;
}

/**
 * The members index written back, if it can be: it only spares reads (every entry is checked
 * against its meta.json's stamp, and a container missing from it is read), so a write that fails
 * (a full disk) must not fail the join, leave or rollback whose hosts files are already right.
 */
function writeIndexFile(db: LowSync<MembersDoc>): void {
  try {
    db.write();
  } catch {
    // the next change reads the metas the index does not have right
  }
}

export class FileHostsStore implements HostsStore {
  private readonly layout: StoreLayout;

  constructor(layout: StoreLayout) {
    this.layout = layout;
  }

  async allocate(ns: string, id: string, content: string): Promise<string> {
    const dir = this.layout.hostsDir(ns, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, StateFiles.hosts);
    try {
      await writeFile(path, content, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return path;
  }

  /**
   * Synchronous under the lock, as the join's reads and writes are: a burst of small file
   * operations with nothing to overlap them with, where each async one would be a thread-pool
   * round trip and a loop turn (the hook server runs other requests' work meanwhile).
   */
  async acquire(ns: string, meta: HostsMeta): Promise<void> {
    await this.locked(ns, async () => {
      const dir = this.layout.hostsDir(ns, meta.ID);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const metaPath = join(dir, StateFiles.meta);
      // Listed already (a restart without release): its old lines must go, so all files are rewritten.
      const known = existsSync(metaPath);
      const tmp = join(dir, `.${StateFiles.meta}.tmp`);
      writeFileNamed(tmp, JSON.stringify(meta), { mode: 0o600, removeOnFailure: true });
      renameSync(tmp, metaPath);
      if (known) this.rewriteAll(ns);
      else this.join(ns, meta);
    });
  }

  /**
   * A newcomer: its own file is rendered whole, every peer's file only gets the
   * newcomer's lines inserted before the end marker (O(1) bytes per peer, not a
   * rewrite of n lines: the start time must not grow with the number of
   * containers, issue 6). A peer file not ending with the marker is rendered whole.
   */
  private join(ns: string, newcomer: HostsMeta): void {
    const { db, members } = this.members(ns, newcomer);
    const all = Object.values(members);
    const render = hostsRenderer(all);
    const linesFor = joinLinesOf(newcomer);
    const tail = Buffer.from(`${END_MARKER}\n`);
    const scratch = Buffer.alloc(tail.length + 1);
    // Peers on the same networks get the same lines: one buffer (lines and tail) for all of them.
    const inserts = new Map<string, Buffer>();
    const base = this.layout.etchostsDir(ns); // a path made once: path.join per peer was ~3 % of a join
    for (const entry of all) {
      const path = `${base}/${entry.ID}/${StateFiles.hosts}`;
      if (entry.ID === newcomer.ID) {
        entry.size = this.renderSync(path, entry, render);
        continue;
      }
      const lines = linesFor(entry);
      if (lines.length === 0) continue;
      const text = lines.join('\n');
      let insert = inserts.get(text);
      if (!insert) inserts.set(text, (insert = Buffer.from(`${text}\n${END_MARKER}\n`)));
      const size = insertBeforeTail(path, tail, insert, scratch, entry.size);
      entry.size = size ?? this.renderSync(path, entry, render);
    }
    // After the files: an index written before them would give sizes they do not have yet
    // (harmless, as every size is checked before it is used, but each would cost a fallback).
    db.data = { members };
    writeIndexFile(db);
  }

  /** Renders path whole (written only if it changes); its size in bytes, undefined if it could not be written. */
  private renderSync(path: string, meta: HostsMeta, render: (current: string, me: HostsMeta) => string): number | undefined {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // no hosts file yet: written whole
    }
    const next = render(current, meta);
    if (next !== current) rewriteInPlace(path, next, 0o644);
    return Buffer.byteLength(next);
  }

  async release(ns: string, id: string): Promise<void> {
    await this.locked(ns, async () => {
      const metaPath = join(this.layout.hostsDir(ns, id), StateFiles.meta);
      const had = existsSync(metaPath);
      const leaving = this.readMeta(ns, id);
      rmSync(metaPath, { force: true });
      this.leave(ns, id, leaving, had);
    });
  }

  async delete(ns: string, id: string): Promise<void> {
    await this.locked(ns, async () => {
      const dir = this.layout.hostsDir(ns, id);
      const had = existsSync(join(dir, StateFiles.meta));
      const leaving = this.readMeta(ns, id);
      rmSync(dir, { recursive: true, force: true }); // ~10 ms of thread-pool turns as a promise
      this.leave(ns, id, leaving, had);
    });
  }

  private readMeta(ns: string, id: string): HostsMeta | undefined {
    try {
      const meta = JSON.parse(readFileSync(join(this.layout.hostsDir(ns, id), StateFiles.meta), 'utf8')) as unknown;
      return isHostsMeta(meta) ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * `id` has left (its meta.json is gone): only the files that list it change. The
   * members that share a network with it are rendered whole; a container dir that is
   * no member (stopped by nerdctl, or its meta.json damaged) cannot be rendered, so
   * its file has the leaving lines cut out. What it listed is its meta.json as read
   * before, else its index entry (a release killed after removing meta.json left it
   * there). A meta.json that existed but could not be read, with no index entry, says
   * nothing of its networks: every file is rendered again.
   */
  private leave(ns: string, id: string, read: HostsMeta | undefined, had: boolean): void {
    const { db, members, known, outside } = this.members(ns);
    const leaving: HostsMeta | undefined = read ?? (known[id]?.ID === id ? known[id] : undefined);
    if (!leaving && had) {
      this.rewriteAll(ns);
      return;
    }
    if (leaving) {
      const all = Object.values(members);
      let render: ((current: string, me: HostsMeta) => string) | undefined;
      const linesFor = joinLinesOf(leaving);
      const base = this.layout.etchostsDir(ns);
      for (const entry of all) {
        // The lines its join inserted (none: no shared network, the file stays as it is); a
        // file without them exactly (written by nerdctl, edited) is rendered whole.
        const lines = linesFor(entry);
        if (lines.length === 0) continue;
        entry.size = this.renderSync(`${base}/${entry.ID}/${StateFiles.hosts}`, entry, (current, me) => {
          const cut = withoutLines(current, lines);
          return cut ?? (render ??= hostsRenderer(all))(current, me);
        });
      }
      for (const other of outside) {
        if (other === id) continue;
        this.renderSync(`${base}/${other}/${StateFiles.hosts}`, leaving, (current) => withoutContainer(current, leaving));
      }
    }
    db.data = { members };
    writeIndexFile(db);
  }

  async list(ns: string): Promise<HostsMeta[]> {
    return this.listSync(ns);
  }

  /**
   * Synchronous: a change is a burst of small reads and writes under the lock,
   * with nothing to overlap them with, and runs in short-lived processes.
   */
  private listSync(ns: string): HostsMeta[] {
    return this.readAllSync(ns).map((m) => m.meta);
  }

  private readAllSync(ns: string): StampedMeta[] {
    let ids: string[];
    try {
      ids = readdirSync(this.layout.etchostsDir(ns));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const metas: StampedMeta[] = [];
    for (const id of ids) {
      if (id.startsWith('.')) continue;
      const read = this.readStampedSync(ns, id);
      if (read) metas.push(read);
    }
    return metas;
  }

  /** A container dir's meta.json, stamped; undefined when missing (a stopped container, a half-written dir) or not a container's entry. */
  private readStampedSync(ns: string, id: string): StampedMeta | undefined {
    const path = join(this.layout.hostsDir(ns, id), StateFiles.meta);
    const stamp = metaStamp(path);
    if (stamp === undefined) return undefined;
    try {
      const meta = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      // A meta.json that parses but is not a container's entry (null, a list, no ID) would fail later as a TypeError.
      return isHostsMeta(meta) ? { meta, stamp } : undefined;
    } catch {
      return undefined;
    }
  }

  /** Rewrites the managed block of every running container's hosts file, and the members index from the metas read. */
  private rewriteAll(ns: string): void {
    const stamped = this.readAllSync(ns);
    const all = stamped.map((m) => m.meta);
    const render = hostsRenderer(all);
    const sizes = new Map<string, number | undefined>();
    for (const meta of all) sizes.set(meta.ID, this.renderSync(join(this.layout.hostsDir(ns, meta.ID), StateFiles.hosts), meta, render));
    this.writeIndex(ns, stamped, sizes);
  }

  /**
   * The running members (with `newcomer` among them, if given), from the index: an entry
   * counts while its container's meta.json has the stamp it was read with; any
   * other meta.json is read (an index lost, a container another tool started, a
   * meta.json another tool wrote again), and a container without one (gone, or
   * stopped by nerdctl, which removes only meta.json) is no member. Also the index
   * as read (`known`) and the container dirs that are no member (`outside`). The
   * caller writes the index back.
   */
  private members(
    ns: string,
    newcomer?: HostsMeta,
  ): { db: LowSync<MembersDoc>; members: Record<string, Member>; known: Record<string, Member>; outside: string[] } {
    const db = this.index(ns);
    try {
      db.read();
    } catch {
      // unreadable: rebuilt from the metas below
    }
    const known = isMembersDoc(db.data) ? db.data.members : {};
    const next: Record<string, Member> = {};
    const outside: string[] = [];
    const base = this.layout.etchostsDir(ns);
    let ids: string[];
    try {
      ids = readdirSync(base);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      ids = [];
    }
    for (const id of ids) {
      if (id.startsWith('.')) continue;
      const metaPath = `${base}/${id}/${StateFiles.meta}`;
      if (id === newcomer?.ID) {
        // Written by this join, under the lock.
        next[id] = member(newcomer, metaStamp(metaPath));
        continue;
      }
      const entry = known[id];
      if (entry?.ID === id && entry.stamp !== undefined && entry.stamp === metaStamp(metaPath)) {
        next[id] = entry;
        continue;
      }
      const read = this.readStampedSync(ns, id);
      if (read?.meta.ID === id) next[id] = member(read.meta, read.stamp);
      else outside.push(id);
    }
    return { db, members: next, known, outside };
  }

  private writeIndex(ns: string, all: readonly StampedMeta[], sizes: ReadonlyMap<string, number | undefined>): void {
    const db = this.index(ns);
    db.data = { members: Object.fromEntries(all.map((m) => [m.meta.ID, member(m.meta, m.stamp, sizes.get(m.meta.ID))])) };
    writeIndexFile(db);
  }

  private index(ns: string): LowSync<MembersDoc> {
    // Compact (lowdb's JSONFile indents): read and written whole at every join, ~250 bytes a member.
    // Written to a temp file and renamed (lowdb's sync adapter), under the hosts store's lock.
    const file = new DataFileSync<MembersDoc>(join(this.layout.etchostsDir(ns), MEMBERS_INDEX), {
      parse: (text) => JSON.parse(text) as MembersDoc,
      stringify: (data) => JSON.stringify(data),
    });
    return new LowSync<MembersDoc>(file, { members: {} });
  }

  /** nerdctl's lock of the namespace's hosts store: the directory itself, so the two tools never change it at once. */
  lockFile(ns: string): string {
    return this.layout.etchostsDir(ns);
  }

  private locked<T>(ns: string, fn: () => Promise<T>): Promise<T> {
    return withLockedDir(this.lockFile(ns), fn, { mode: 0o700 });
  }
}

/**
 * Writes `insert` (the new lines, then `tail` again) where the file's last bytes
 * `tail` are, in place (the file is bind-mounted: same inode): first at
 * `sizeHint` (the size tsnerd last left it with), else where fstat puts its end;
 * `scratch` is a buffer of tail's length + 1. The file's new size, or undefined
 * when it does not end with `tail` (edited by the user, or missing): the caller
 * renders it whole.
 */
function insertBeforeTail(path: string, tail: Buffer, insert: Buffer, scratch: Buffer, sizeHint: number | undefined): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    return undefined;
  }
  try {
    const endsAt = (at: number): boolean =>
      // One byte more than the tail is asked for: exactly the tail's bytes back means the file ends there.
      at >= 0 && readSync(fd, scratch, 0, tail.length + 1, at) === tail.length && tail.compare(scratch, 0, tail.length) === 0;
    let at = sizeHint === undefined ? -1 : sizeHint - tail.length;
    if (!endsAt(at)) {
      at = fstatSync(fd).size - tail.length;
      if (!endsAt(at)) return undefined;
    }
    // The new bytes past the end first: a full disk leaves the file as it was (no half line, the marker kept).
    try {
      writeGrowingFirst(fd, insert, at, at + tail.length);
    } catch (err) {
      throw namingPath(err, path);
    }
    return at + insert.length;
  } finally {
    closeSync(fd);
  }
}

/** The index entry of a meta: only what hosts lines are made of. */
function member(m: HostsMeta, stamp: string | undefined, size?: number): Member {
  const networks = m.Networks
    ? Object.fromEntries(Object.entries(m.Networks).map(([net, r]) => [net, { ips: (r.ips ?? []).map(({ address }) => ({ address })) }]))
    : null;
  return {
    ID: m.ID,
    Networks: networks,
    Hostname: m.Hostname,
    Domainname: m.Domainname,
    ExtraHosts: m.ExtraHosts ?? {},
    Name: m.Name,
    ...(m.Aliases ? { Aliases: m.Aliases } : {}),
    ...(stamp === undefined ? {} : { stamp }),
    ...(size === undefined ? {} : { size }),
  };
}

function isMembersDoc(value: unknown): value is MembersDoc {
  if (typeof value !== 'object' || value === null) return false;
  const members = (value as { members?: unknown }).members;
  return typeof members === 'object' && members !== null && !Array.isArray(members) && Object.values(members).every(isHostsMeta);
}

function isHostsMeta(value: unknown): value is HostsMeta {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  const networks = m['Networks'];
  const extra = m['ExtraHosts'];
  return (
    typeof m['ID'] === 'string' &&
    (networks === null || networks === undefined || (typeof networks === 'object' && !Array.isArray(networks))) &&
    (extra === undefined || extra === null || (typeof extra === 'object' && !Array.isArray(extra)))
  );
}
