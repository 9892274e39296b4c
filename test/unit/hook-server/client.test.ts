/**
 * The perl hook client (src/hook-server/hook-client.pl) against fake servers:
 * what it sends, and when it runs the hook process itself (no server, a stale
 * socket, a refusal, a fault test) or fails the hook (a server that took the
 * request and died).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACK, decodeRequest, encodeReply, type HookWireRequest } from '../../../src/hook-server/protocol.ts';

const CLIENT = new URL('../../../src/hook-server/hook-client.pl', import.meta.url).pathname;

/** The "hook process" the client may exec: prints what it got on stdin and the start variable. */
const FAKE_HOOK = ['/bin/sh', '-c', 'printf "hook ran: %s|%s" "$(cat)" "${TSNERD_HOOK_SERVER_START:-none}"', 'sh', 'internal', 'oci-hook'];

interface ClientRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runClient(
  socket: string,
  stdin: string,
  env: Record<string, string> = {},
  args = ['createRuntime', '--debug'],
): Promise<ClientRun> {
  return new Promise((resolve) => {
    const child = spawn('perl', [CLIENT, socket, ...FAKE_HOOK, ...args], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** A fake server on socket: `answer` decides what each whole request gets. */
async function fakeServer(socket: string, answer: (s: Socket, r: HookWireRequest) => void): Promise<Server> {
  const server = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const r = decodeRequest(buf);
      if (r) answer(s, r);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

describe('hook client', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsnerd-hook-client-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('sends the event and flags, the environment and the state, and exits with the answer', async () => {
    const socket = join(dir, 'a.sock');
    let got: HookWireRequest | undefined;
    const server = await fakeServer(socket, (s, r) => {
      got = r;
      s.write(ACK);
      s.end(encodeReply({ code: 3, stderr: 'tsnerd oci-hook: nope ✗\n' }));
    });
    try {
      const r = await runClient(socket, '{"id":"c1","x":"é"}', { TSNERD_X: 'a=b,c' });
      assert.deepEqual(r, { code: 3, stdout: '', stderr: 'tsnerd oci-hook: nope ✗\n' });
      assert.deepEqual(got?.args, ['createRuntime', '--debug']);
      assert.equal(got?.env['TSNERD_X'], 'a=b,c');
      assert.equal(got?.stdin, '{"id":"c1","x":"é"}');
    } finally {
      await close(server);
    }
  });

  it('without a server, runs the hook process with the state on its stdin and asks it to start a server', async () => {
    const socket = join(dir, 'none.sock');
    assert.deepEqual(await runClient(socket, '{"id":"c2"}'), { code: 0, stdout: `hook ran: {"id":"c2"}|${socket}`, stderr: '' });
    // More than a pipe's page: handed on by a writer process.
    const big = `{"id":"c3","pad":"${'x'.repeat(200_000)}"}`;
    assert.equal((await runClient(socket, big)).stdout, `hook ran: ${big}|${socket}`);
  });

  it('with a stale socket (its server killed), runs the hook process and starts a server', async () => {
    const socket = join(dir, 'stale.sock');
    // A server killed with -9 leaves its socket file behind.
    const listener = spawnSync('perl', [
      '-MSocket',
      '-e',
      'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die; bind($s, pack_sockaddr_un($ARGV[0])) or die; listen($s, 1) or die; kill 9, $$',
      socket,
    ]);
    assert.equal(listener.signal, 'SIGKILL');
    assert.ok((await stat(socket)).isSocket(), 'the stale socket is there');
    const r = await runClient(socket, '{"id":"c4"}');
    assert.equal(r.stdout, `hook ran: {"id":"c4"}|${socket}`);
  });

  it('a request the server refuses (no acknowledgement) runs in the hook process', async () => {
    const socket = join(dir, 'refuse.sock');
    const server = await fakeServer(socket, (s) => s.destroy());
    try {
      assert.equal((await runClient(socket, '{"id":"c5"}')).stdout, `hook ran: {"id":"c5"}|${socket}`);
    } finally {
      await close(server);
    }
  });

  it('a server that took the request and died fails the hook without running it again', async () => {
    const socket = join(dir, 'dies.sock');
    const server = await fakeServer(socket, (s) => {
      s.write(ACK);
      s.end(Buffer.from('1:'));
    });
    try {
      const r = await runClient(socket, '{"id":"c6"}');
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '', 'the hook process did not run');
      assert.match(r.stderr, /the hook server ended before it answered \(createRuntime; see .*dies\.log\): the hook was not run again/);
    } finally {
      await close(server);
    }
  });

  it('a hook with TSNERD_FAULT runs in a hook process of its own, unless server faults are asked for', async () => {
    const socket = join(dir, 'fault.sock');
    let asked = 0;
    const server = await fakeServer(socket, (s) => {
      asked++;
      s.write(ACK);
      s.end(encodeReply({ code: 0, stderr: '' }));
    });
    try {
      const own = await runClient(socket, '{"id":"c7"}', { TSNERD_FAULT: 'hook-added' });
      assert.equal(own.stdout, 'hook ran: {"id":"c7"}|none');
      assert.equal(asked, 0);
      const served = await runClient(socket, '{"id":"c7"}', { TSNERD_FAULT: 'hook-added', TSNERD_HOOK_SERVER_FAULTS: '1' });
      assert.deepEqual(served, { code: 0, stdout: '', stderr: '' });
      assert.equal(asked, 1);
    } finally {
      await close(server);
    }
  });
});
