/**
 * The perl CLI client (src/cli/cli-client.pl) against fake CLI servers: what it sends,
 * how it plays the server's frames back, and when it runs the command in a node CLI
 * process itself (no server, a refusal, turned off) or fails it (a server that took
 * the command and died).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCliRequest } from '../../../src/cli/cli-server.ts';
import { netstring } from '../../../src/hook-server/protocol.ts';

const CLIENT = new URL('../../../src/cli/cli-client.pl', import.meta.url).pathname;
const ID = '0123456789ab';
/** The "node CLI" the client may exec: prints its arguments and the start variable. */
const FAKE_NODE = ['/bin/sh', '-c', 'printf "local: %s|%s" "$*" "${TSNERD_CLI_SERVER_START:-none}"', 'sh'];

let dir: string;
let bundle: string;
const socketPath = () => join(dir, 'cli-server', `${ID}.sock`);

function runClient(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('perl', [CLIENT, bundle, String(FAKE_NODE.length), ...FAKE_NODE, ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TSNERD_DATA_ROOT: dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A fake server: `answer` gets each decoded request and its socket. */
async function fakeServer(answer: (request: ReturnType<typeof decodeCliRequest>, socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    let done = false;
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (done) return;
      const decoded = decodeCliRequest(buf);
      if (!decoded) return;
      done = true;
      answer(decoded, socket);
    });
  });
  await new Promise<void>((r) => server.listen(socketPath(), r));
  return server;
}

const closeServer = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('the CLI client (perl)', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsnerd-cli-client-'));
    bundle = join(dir, 'fast-main.cjs');
    await writeFile(bundle, `// tsnerd-build:${ID}0123456789abcdef\n"use strict";\n`);
    await mkdir(join(dir, 'cli-server'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('no server: runs the node CLI itself, asking it to start one', async () => {
    const r = await runClient(['run', '--rm', 'busybox']);
    assert.equal(r.stdout, `local: run --rm busybox|${socketPath()}`);
    assert.equal(r.code, 0);
  });

  it('turned off, or a data root it cannot place: runs the node CLI without a start', async () => {
    assert.equal((await runClient(['rm', 'x'], { TSNERD_CLI_SERVER: '0' })).stdout, 'local: rm x|none');
    assert.equal((await runClient(['rm', 'x'], { TSNERD_DATA_ROOT: 'relative/root' })).stdout, 'local: rm x|none');
  });

  it('sends its pid, arguments and environment; plays back stdout, stderr and the exit code', async () => {
    let seen: ReturnType<typeof decodeCliRequest>;
    const server = await fakeServer((request, socket) => {
      seen = request;
      socket.write('A');
      socket.write(Buffer.concat([Buffer.from('o'), netstring('out é\n'), Buffer.from('e'), netstring('err,:\n')]));
      socket.end(Buffer.concat([Buffer.from('o'), netstring('more'), Buffer.from('x'), netstring('42')]));
    });
    try {
      const r = await runClient(['run', 'busybox', 'sh', '-c', 'echo "a b"; exit 3', 'ünï'], { MARK: 'x=y' });
      assert.deepEqual([r.code, r.stdout, r.stderr], [42, 'out é\nmore', 'err,:\n']);
      assert.deepEqual(seen!.request.args, ['run', 'busybox', 'sh', '-c', 'echo "a b"; exit 3', 'ünï']);
      assert.equal(seen!.request.env['MARK'], 'x=y');
      assert.ok(seen!.request.pid > 1);
      // pids past the protocol's count limit (pid_max is up to 4194304)
      assert.equal(decodeCliRequest(Buffer.from('12:tsnerd-cli-1,7:4194000,1:0,1:0,'))?.request.pid, 4194000);
    } finally {
      await closeServer(server);
    }
  });

  it('a refusal runs the node CLI without a start; a server that dies after taking the command fails it', async () => {
    let server = await fakeServer((_, socket) => socket.end('L'));
    try {
      assert.equal((await runClient(['start', 'c1'])).stdout, 'local: start c1|none');
    } finally {
      await closeServer(server);
    }
    server = await fakeServer((_, socket) => socket.end(Buffer.concat([Buffer.from('A'), Buffer.from('o'), netstring('partial')])));
    try {
      const r = await runClient(['run', 'busybox']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, 'partial');
      assert.match(r.stderr, /the CLI server ended before the command did/);
    } finally {
      await closeServer(server);
    }
  });

  it('a reader gone from its stdout ends the client with 0, as the CLI process does on EPIPE', { timeout: 10_000 }, async () => {
    let timer: NodeJS.Timeout | undefined;
    const server = await fakeServer((_, socket) => {
      socket.write('A');
      timer = setInterval(() => socket.writable && socket.write(Buffer.concat([Buffer.from('o'), netstring('y\n'.repeat(1000))])), 10);
      socket.on('close', () => clearInterval(timer));
    });
    try {
      const child = spawn('perl', [CLIENT, bundle, String(FAKE_NODE.length), ...FAKE_NODE, 'run', 'busybox', 'yes'], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TSNERD_DATA_ROOT: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const code = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      await new Promise((res) => child.stdout.once('data', res));
      child.stdout.destroy(); // `| head -1`
      assert.equal(await code, 0);
    } finally {
      clearInterval(timer);
      await closeServer(server);
    }
  });

  it('forwards a signal; dies of one the command does not forward', async () => {
    const got: string[] = [];
    let client: Socket | undefined;
    const server = await fakeServer((request, socket) => {
      client = socket;
      socket.write('A');
      socket.on('data', (c: Buffer) => got.push(c.toString()));
      // once the client has read the 'A' and set its handlers
      setTimeout(() => process.kill(request!.request.pid, 'SIGTERM'), 300);
    });
    try {
      const running = runClient(['run', 'busybox']);
      const deadline = Date.now() + 10_000;
      while (!got.join('').includes('SIGTERM') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(got.join(''), '7:SIGTERM,');
      client!.end(Buffer.concat([Buffer.from('k'), netstring('SIGTERM')]));
      const r = await running;
      assert.equal(r.signal, 'SIGTERM');
    } finally {
      await closeServer(server);
    }
  });
});
