/**
 * The stdio FIFOs of an attached run (src/adapters/host/fifo-process-io.ts): read from a
 * non-blocking read end on the event loop, with a keep-alive write end until the task exists.
 * Writers here are shell children standing in for the shim.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readFifo } from '../../../src/adapters/host/fifo-process-io.ts';

const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'tsnerd-fifo-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function fifo(): string {
  const path = join(dir, `f${n++}`);
  execFileSync('mkfifo', ['-m', '600', path]);
  return path;
}

/** A slow sink (a small buffer, each write taking a turn of the loop): the reader must pause and resume. */
function sink(): { stream: Writable; data: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      setImmediate(cb);
    },
  });
  return { stream, data: () => Buffer.concat(chunks) };
}

/** A writer process that opens the FIFO (blocking, as the shim does), writes `file` and exits. */
function writer(path: string, file: string, delaySeconds = 0): Promise<number | null> & { pid: number } {
  const child = spawn('sh', ['-c', `sleep ${delaySeconds}; exec cat "$1" > "$2"`, 'sh', file, path], { stdio: 'ignore' });
  return Object.assign(new Promise<number | null>((res) => child.on('exit', (code) => res(code))), { pid: child.pid! });
}

/**
 * Resolves once process `pid` has `path` open (the shim has opened its end by the time the task
 * exists, and only then is the keep-alive released): a fixed wait lost that race under load, the
 * reader saw an end of file with no writer yet, and the writer's open then blocked for ever.
 */
async function opened(pid: number, path: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return; // gone: it opened, wrote and exited
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) return;
      } catch {
        // closed meanwhile
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} never opened ${path}`);
}

const settledWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), ms).unref())]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fdsTo = (path: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;

describe('readFifo', () => {
  for (const size of [8 * 1024 * 1024 + 7, 5, 0]) {
    it(`loses nothing of ${size} bytes, and ends only after the keep-alive is released and the writer closed`, async () => {
      const path = fifo();
      const payload = randomBytes(size);
      const file = join(dir, `payload-${size}`);
      writeFileSync(file, payload);
      const out = sink();
      const reader = readFifo(path, out.stream);
      // No writer yet: the keep-alive keeps the reader from an end of file.
      assert.equal(await settledWithin(reader.done, 300), false, 'no end of file before any writer');
      const wrote = writer(path, file);
      await opened(wrote.pid, path);
      reader.release();
      assert.equal(await wrote, 0);
      assert.equal(await settledWithin(reader.done, 30_000), true, 'end of file once the writer closed');
      await new Promise((r) => setImmediate(r));
      assert.equal(out.data().length, size);
      assert.equal(sha(out.data()), sha(payload));
      assert.equal(fdsTo(path), 0, 'no descriptor of the FIFO left');
    });
  }

  it('a writer that comes and goes before the release does not end the read', async () => {
    const path = fifo();
    const file = join(dir, 'early');
    writeFileSync(file, 'early\n');
    const out = sink();
    const reader = readFifo(path, out.stream);
    assert.equal(await writer(path, file), 0);
    assert.equal(await settledWithin(reader.done, 300), false, 'still open: our keep-alive holds the write side');
    reader.release();
    assert.equal(await settledWithin(reader.done, 5000), true);
    assert.equal(out.data().toString(), 'early\n');
  });

  it('destroy closes both our ends at once, with the writer still there', async () => {
    const path = fifo();
    const out = sink();
    const reader = readFifo(path, out.stream);
    assert.equal(fdsTo(path), 2, 'the read end and the keep-alive');
    const holder = spawn('sh', ['-c', 'exec 3>"$1"; exec sleep 30', 'sh', path], { stdio: 'ignore' });
    try {
      reader.release();
      reader.destroy();
      assert.equal(await settledWithin(reader.done, 5000), true);
      assert.equal(fdsTo(path), 0);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('attach opens its FIFOs off the thread pool: with one pool thread, file I/O goes on while no shim opens them', async () => {
    // With blocking opens on the pool, the first one would take the only thread until a writer came.
    const script = `
      import { readFile } from 'node:fs/promises';
      import { FifoProcessIo } from '${join(REPO, 'src/adapters/host/fifo-process-io.ts')}';
      const io = new FifoProcessIo();
      const attached = [];
      for (const i of [0, 1, 2]) attached.push(await io.attach(process.argv[2] + '/io' + i, { stdin: false }));
      const t = setTimeout(() => { console.error('file I/O stalled'); process.exit(3); }, 5000);
      await readFile('/proc/self/status');
      clearTimeout(t);
      for (const a of attached) await a.close();
      process.exit(0);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A process with an open(2) blocked on the pool cannot even exit (its exit joins the pool's threads).
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    clearTimeout(kill);
    assert.equal(code, 0, err || 'killed after 15 s');
    for (const i of [0, 1, 2]) assert.deepEqual(readdirSync(dir).includes(`io${i}`), false, 'close removed the FIFO dir');
  });
});
