/**
 * The hook server process (src/hook-server/main.ts, run from the sources) on a
 * temporary socket: it answers hooks the way the hook process does, refuses
 * what is not a request of its protocol without acknowledging it, lets only one
 * server serve a socket, replaces a stale socket and exits when idle.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { decodeReply, encodeRequest, type HookWireRequest } from '../../../src/hook-server/protocol.ts';
import { hookServerFiles, launchHookServer } from '../../../src/adapters/host/hook-server-process.ts';

const SERVER = new URL('../../../src/hook-server/main.ts', import.meta.url).pathname;

/** Starts a server on socket; resolves with it and its readiness line. */
async function startServer(socket: string, idleMs: number): Promise<{ child: ChildProcess; ready: { ok: boolean; code?: string } }> {
  const child = spawn(process.execPath, [SERVER, socket], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TSNERD_HOOK_SERVER_IDLE_MS: String(idleMs) },
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  let text = '';
  const pipe = child.stdio[3] as Readable;
  pipe.setEncoding('utf8');
  pipe.on('data', (c: string) => (text += c));
  await new Promise((resolve) => pipe.on('close', resolve));
  return { child, ready: JSON.parse(text.split('\n')[0] || '{"ok":false}') as { ok: boolean; code?: string } };
}

function ask(socket: string, request: Buffer | HookWireRequest): Promise<ReturnType<typeof decodeReply>> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    const chunks: Buffer[] = [];
    s.on('connect', () => s.write(Buffer.isBuffer(request) ? request : encodeRequest(request)));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(decodeReply(Buffer.concat(chunks))));
  });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));

describe('hook server process', { timeout: 60_000 }, () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsnerd-hook-server-'));
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('answers hooks as the hook process does, one server per socket, and refuses what is not its protocol', async () => {
    const socket = join(dir, 'one.sock');
    const first = await startServer(socket, 60_000);
    children.push(first.child);
    assert.equal(first.ready.ok, true);
    assert.equal((await stat(socket)).mode & 0o777, 0o600);
    assert.equal((await readFile(hookServerFiles(socket).pid, 'utf8')).trim(), String(first.child.pid));

    const second = await startServer(socket, 60_000);
    children.push(second.child);
    assert.deepEqual([second.ready.ok, second.ready.code], [false, 'BUSY']);
    await exited(second.child);
    assert.equal(second.child.exitCode, 0);

    const env = { PATH: '/usr/bin:/bin' };
    assert.deepEqual(await ask(socket, { args: ['createRuntime'], env, stdin: '{}' }), {
      taken: true,
      reply: { code: 1, stderr: 'tsnerd oci-hook: invalid container id "undefined" in the runtime state\n' },
    });
    const usage = await ask(socket, { args: ['bogus'], env, stdin: '{}' });
    assert.equal(usage.reply?.code, 2);
    assert.match(usage.reply?.stderr ?? '', /unknown event "bogus"/);
    // Settings come from each request: a bad namespace in one request's env is that request's error only.
    const bad = await ask(socket, { args: ['createRuntime'], env: { ...env, CONTAINERD_NAMESPACE: 'a b' }, stdin: '{}' });
    assert.match(bad.reply?.stderr ?? '', /invalid namespace "a b"/);
    assert.deepEqual(await ask(socket, Buffer.from('13:tsnerd-hook-0,')), { taken: false });
    assert.deepEqual(await ask(socket, Buffer.from('not a netstring')), { taken: false });
    // Still serving after the refusals.
    assert.equal((await ask(socket, { args: ['postStop'], env, stdin: '{}' })).reply?.code, 1);
    first.child.kill('SIGTERM');
    await exited(first.child);
    assert.ok(!existsSync(socket), 'the socket is removed at exit');
  });

  it('replaces a stale socket, and exits when idle, removing its socket and pid file', async () => {
    const socket = join(dir, 'stale.sock');
    spawnSync('perl', [
      '-MSocket',
      '-e',
      'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die; bind($s, pack_sockaddr_un($ARGV[0])) or die; listen($s, 1) or die; kill 9, $$',
      socket,
    ]);
    assert.ok((await stat(socket)).isSocket());
    const server = await startServer(socket, 300);
    children.push(server.child);
    assert.equal(server.ready.ok, true);
    assert.equal((await ask(socket, { args: ['bogus'], env: {}, stdin: '' })).reply?.code, 2);
    const t0 = Date.now();
    await exited(server.child);
    assert.ok(Date.now() - t0 < 5000, 'it exited within its idle time');
    assert.equal(server.child.exitCode, 0);
    assert.ok(!existsSync(socket) && !existsSync(hookServerFiles(socket).pid));
    await sleep(10);
  });

  it('cold hooks launching at once start one server process; its start marker is gone once it listens', async () => {
    const socket = join(dir, 'launch', 'x.sock');
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TSNERD_HOOK_SERVER_IDLE_MS: '300', TSNERD_HOOK_SERVER_NODE_FLAGS: '' };
    for (let i = 0; i < 8; i++) launchHookServer(socket, env);
    const servers = async () => {
      const pids: number[] = [];
      for (const e of await readdir('/proc')) {
        const argv = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
        if (/^\d+$/.test(e) && argv.split('\0').includes(socket)) pids.push(Number(e));
      }
      return pids;
    };
    const started = await servers();
    assert.equal(started.length, 1, `one server started, not ${started.length}`);
    for (let i = 0; i < 200 && !existsSync(socket); i++) await sleep(25);
    assert.ok(existsSync(socket), 'it listens');
    // Started niced, so that its start yields the CPU to the hook that started it; normal once it listens.
    for (let i = 0; i < 100 && getPriority(started[0]!) !== 0; i++) await sleep(20);
    assert.equal(getPriority(started[0]!), 0, 'it serves at the normal priority');
    assert.ok(!existsSync(hookServerFiles(socket).starting), 'the start marker is removed');
    for (let i = 0; i < 200 && (await servers()).length > 0; i++) await sleep(25);
    assert.deepEqual(await servers(), [], 'it exited when idle');
  });
});
