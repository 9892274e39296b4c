/**
 * lowdb's file adapters as tsnerd uses them: the same files (a temp file `.<name>.tmp`
 * beside the document, renamed over it), but a write that fails (a full disk, a read-only
 * file system) removes its temp file instead of leaving it in the data store, and throws
 * an error that names the document (`write <path>: no space left on device`; node's own
 * message for a failed write names no file).
 *
 * Every tsnerd module that keeps a lowdb document imports its adapter from here, not from
 * `lowdb/node`.
 */
import { rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { namingPath } from './write-file.ts';
import {
  DataFile as LowDataFile,
  DataFileSync as LowDataFileSync,
  TextFile as LowTextFile,
  TextFileSync as LowTextFileSync,
} from 'lowdb/node';

type Codec<T> = { parse: (text: string) => T; stringify: (data: T) => string };

/** The temp file lowdb's adapters (and steno, under the async ones) write before the rename. */
function tempFileOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp`);
}

/** After a failed write: its temp file gone, the error naming the document where node's names no file. */
function failedWrite(path: string, err: unknown): unknown {
  rmSync(tempFileOf(path), { force: true });
  return namingPath(err, path);
}

export class TextFileSync extends LowTextFileSync {
  readonly #path: string;

  constructor(path: string) {
    super(path);
    this.#path = path;
  }

  override write(text: string): void {
    try {
      super.write(text);
    } catch (err) {
      throw failedWrite(this.#path, err);
    }
  }
}

export class TextFile extends LowTextFile {
  readonly #path: string;

  constructor(path: string) {
    super(path);
    this.#path = path;
  }

  override async write(text: string): Promise<void> {
    try {
      await super.write(text);
    } catch (err) {
      throw failedWrite(this.#path, err);
    }
  }
}

export class DataFileSync<T> extends LowDataFileSync<T> {
  readonly #path: string;

  constructor(path: string, codec: Codec<T>) {
    super(path, codec);
    this.#path = path;
  }

  override write(data: T): void {
    try {
      super.write(data);
    } catch (err) {
      throw failedWrite(this.#path, err);
    }
  }
}

export class DataFile<T> extends LowDataFile<T> {
  readonly #path: string;

  constructor(path: string, codec: Codec<T>) {
    super(path, codec);
    this.#path = path;
  }

  override async write(data: T): Promise<void> {
    try {
      await super.write(data);
    } catch (err) {
      throw failedWrite(this.#path, err);
    }
  }
}

/** lowdb's JSON layout (two-space indent), so the files read the same as before. */
const json = { parse: JSON.parse, stringify: (data: unknown) => JSON.stringify(data, null, 2) };

export class JSONFileSync<T> extends DataFileSync<T> {
  constructor(path: string) {
    super(path, json as Codec<T>);
  }
}

export class JSONFile<T> extends DataFile<T> {
  constructor(path: string) {
    super(path, json as Codec<T>);
  }
}
