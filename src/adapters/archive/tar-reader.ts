/**
 * A streaming reader of tar archives (ustar, GNU long names, pax paths), as
 * written by `docker save`, `ctr export`, skopeo and GNU tar. Only regular
 * files and symbolic links are reported.
 */
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable, pipeline } from 'node:stream';
import { invalid } from '../../domain/errors.ts';
import type { ArchiveEntry } from '../../interfaces/archive.ts';
import { ByteReader } from './byte-reader.ts';

const BLOCK = 512;

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

function numeric(header: Buffer, start: number, length: number): number {
  const raw = header.subarray(start, start + length);
  // GNU base-256 for values too large for octal.
  if ((raw[0] ?? 0) & 0x80) return raw.subarray(1).reduce((n, b) => n * 256 + b, (raw[0] ?? 0) & 0x7f);
  const text = field(header, start, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum === numeric(header, 148, 8);
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.subarray(pos, space).toString('utf8'), 10);
    if (!(len > 0)) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

const clean = (name: string) =>
  posix
    .normalize(name)
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/$/, '');

export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<ArchiveEntry> {
  const reader = new ByteReader(source);
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  let first = true;
  for (;;) {
    const header = await reader.read(BLOCK);
    if (header.length === 0 && !first) return;
    if (header.length < BLOCK) throw invalid('archive is truncated or not a tar file');
    if (header.every((b) => b === 0)) return;
    if (!checksumOk(header)) throw invalid(first ? 'not a tar archive' : 'archive is corrupt (bad tar header checksum)');
    first = false;
    const type = String.fromCharCode(header[156] || 0x30);
    const size = pax['size'] !== undefined ? Number(pax['size']) : numeric(header, 124, 12);
    const prefix = field(header, 345, 155);
    const rawName = pax['path'] ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    const linkName = pax['linkpath'] ?? field(header, 157, 100);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'L' || type === 'x' || type === 'g') {
      const data = await reader.read(size + padding);
      if (data.length < size) throw invalid('archive is truncated');
      if (type === 'L') longName = field(data, 0, size);
      else if (type === 'x') pax = paxRecords(data.subarray(0, size));
      continue;
    }
    longName = undefined;
    pax = {};
    const name = clean(rawName);
    const body = reader.chunks(type === '0' || type === '7' ? size : 0);
    if (type === '0' || type === '7') {
      yield { name, size, body };
    } else if (type === '2') {
      yield { name, size: 0, body, linkTo: clean(posix.join(posix.dirname(name), linkName)) };
    } else if (type === '1') {
      yield { name, size: 0, body, linkTo: clean(linkName) };
    }
    // Whatever the consumer left unread is skipped here.
    for await (const _ of body);
    const rest = await reader.read(padding + (type === '0' || type === '7' ? 0 : size));
    if (rest.length < padding) throw invalid('archive is truncated');
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** Tar entries of a plain or gzip-compressed archive (sniffed from its first bytes). */
export async function* readArchive(input: AsyncIterable<Uint8Array>): AsyncGenerator<ArchiveEntry> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const next = await it.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  if (head.length === 0) throw invalid('archive is empty');
  async function* replay(): AsyncGenerator<Uint8Array> {
    yield head;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  const gz = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  if (!gz) return yield* readTar(replay());
  // pipeline: a read error of the input fails the decompressed stream too.
  const decompressed = pipeline(Readable.from(replay()), createGunzip(), () => {});
  try {
    yield* readTar(decompressed);
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code?.startsWith('Z_') ? invalid(`archive is not valid gzip: ${(err as Error).message}`) : err;
  } finally {
    decompressed.destroy();
  }
}
