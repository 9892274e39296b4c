import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readArchive } from '../../../src/adapters/archive/tar-reader.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

/** One ustar header + padded body; type '0' file, '2' symlink, 'L' GNU long name. */
function tarEntry(name: string, body: Buffer, type = '0', link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write(link, 157);
  h.write('ustar\0' + '00', 257);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((n, b) => n + b, 0);
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

const end = Buffer.alloc(1024);
const longName = 'blobs/sha256/' + 'a'.repeat(120);

function fixture(): Buffer {
  return Buffer.concat([
    tarEntry('./oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
    tarEntry('././@LongLink', Buffer.from(longName + '\0'), 'L'),
    tarEntry('ignored', Buffer.alloc(700, 7)),
    tarEntry('dir/link', Buffer.alloc(0), '2', '../oci-layout'),
    tarEntry('index.json', Buffer.from('{}')),
    end,
  ]);
}

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function read(input: Buffer, chunk = 100, consume = (name: string) => name !== longName) {
  const out: { name: string; size: number; body?: string; linkTo?: string }[] = [];
  for await (const e of readArchive(chunked(input, chunk))) {
    const parts: Buffer[] = [];
    if (consume(e.name)) for await (const p of e.body) parts.push(Buffer.from(p));
    out.push({
      name: e.name,
      size: e.size,
      ...(consume(e.name) && !e.linkTo ? { body: Buffer.concat(parts).toString() } : {}),
      ...(e.linkTo ? { linkTo: e.linkTo } : {}),
    });
  }
  return out;
}

const expected = [
  { name: 'oci-layout', size: 30, body: '{"imageLayoutVersion":"1.0.0"}' },
  { name: longName, size: 700 },
  { name: 'dir/link', size: 0, linkTo: 'oci-layout' },
  { name: 'index.json', size: 2, body: '{}' },
];

test('reads files, GNU long names and symlinks; unread bodies are skipped', async () => {
  assert.deepEqual(await read(fixture()), expected);
  assert.deepEqual(await read(fixture(), 7), expected);
});

test('a read body has exactly its bytes, across chunk boundaries', async () => {
  const entries = await read(fixture(), 33, () => true);
  assert.equal(entries[1]!.body, '\x07'.repeat(700));
});

test('gzip archives are recognised by their magic bytes', async () => {
  assert.deepEqual(await read(gzipSync(fixture())), expected);
});

const failsWith = (pattern: RegExp) => (e: unknown) => isTsnerdError(e, 'invalid') && pattern.test(e.message);

test('garbage, truncation and corrupt headers are invalid archives', async () => {
  await assert.rejects(read(Buffer.from('hello world, not a tar'.repeat(50))), failsWith(/^not a tar archive$/));
  await assert.rejects(read(Buffer.alloc(0)), failsWith(/^archive is empty$/));
  await assert.rejects(
    read(fixture().subarray(0, 1000), 100, () => true),
    failsWith(/truncated/),
  );
  const corrupt = fixture();
  corrupt[512 + 512 + 5] = 0x7e;
  await assert.rejects(read(corrupt), failsWith(/bad tar header checksum/));
  await assert.rejects(read(gzipSync(fixture()).subarray(0, 40)), failsWith(/gzip|truncated/));
});
