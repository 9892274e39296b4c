/**
 * What the port holder (src/reserver/main.ts) and its clients
 * (src/adapters/host/process-port-reserver.ts) say to each other over the
 * holder's unix socket: one JSON request line per connection, one JSON reply
 * line back. Types only; the files below live in `<data root>/portholder/`.
 */
import type { HostBinding } from '../domain/publish/port-mapping.ts';

export const HolderFiles = {
  dir: 'portholder',
  socket: 'holder.sock',
  lock: 'holder.lock',
  pid: 'holder.pid',
  log: 'holder.log',
  registry: 'reservations.json',
} as const;

/** Run when a watched container's init process exits on its own (the hook's `exited` event). */
export interface ExitCommand {
  argv: string[];
  env: Record<string, string>;
  /** Written to the command's stdin: the container's OCI state as its hooks got it. */
  stdin: string;
  /**
   * `network reload` with the same settings (namespace, data root, address, ...), the
   * container IDs to append: what the holder runs when a held container's port forwards
   * are gone from the firewall (forward-watch.ts).
   */
  reloadArgv?: string[];
}

/** One container's entry in the registry, keyed by its state dir. */
export interface Reservation {
  bindings: HostBinding[];
  /** The container's init pid and its start time (/proc/<pid>/stat field 22), to tell a recycled pid apart. */
  pid?: number;
  startTime?: string;
  onExit?: ExitCommand;
  /** The container's ID and its CNI container ID (the one portmap's rules name), for the forward check. */
  id?: string;
  cniId?: string;
}

/** An exit command without its stdin: the same for every container of one CLI (same runtime, settings, PATH). */
export type ExitProgram = Omit<ExitCommand, 'stdin'>;

/** A reservation as `reservations.json` keeps it: its exit command by the id of its program, with its own stdin. */
export interface StoredReservation extends Omit<Reservation, 'onExit'> {
  exit?: { program: string; stdin: string };
  /** The form before version 2 (each entry's exit command whole): still read. */
  onExit?: ExitCommand;
}

/**
 * `reservations.json` (lowdb, one line of JSON): each distinct exit program once,
 * by id, and the entries naming theirs (about 0.6 KB an entry, where version 1
 * repeated the program's ~1 KB in every entry, indented). A registry without
 * `version` is version 1, read as well (a holder upgraded in place).
 */
export interface Registry {
  version?: 2;
  programs?: Record<string, ExitProgram>;
  reservations: Record<string, StoredReservation>;
}

export type Request =
  { op: 'reserve'; key: string; reservation: Reservation } | { op: 'release'; key: string; pid?: number } | { op: 'list' };

export interface Reply {
  ok: boolean;
  code?: string;
  message?: string;
  binding?: HostBinding;
  /** release: whether an entry went. */
  released?: boolean;
  /** list: the registry, and what the holder could not bind. */
  reservations?: Record<string, Reservation & { unbound?: HostBinding[]; exiting?: boolean }>;
  pid?: number;
}
