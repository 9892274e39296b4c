import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import type { PortMapping } from '../../../src/domain/publish/index.ts';
import { readUsedHostPorts } from '../../../src/adapters/host/proc-net-ports.ts';
import { assertPortsFree } from '../../../src/domain/publish/port-conflicts.ts';
import { portReserverPid, startPortReserver, stopPortReserver } from '../../../src/adapters/host/process-port-reserver.ts';

const dirs: string[] = [];
async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsnerd-reserver-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) {
    await stopPortReserver(dir);
    await rm(dir, { recursive: true, force: true });
  }
});

/** Tries to listen on tcp host:port: resolves the error code, or 'OK' (and closes again). */
function tryListen(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'ERROR'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve('OK')));
  });
}
function tryBindUdp(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', (e: NodeJS.ErrnoException) => { socket.close(); resolve(e.code ?? 'ERROR'); });
    socket.bind({ address, port, exclusive: true }, () => socket.close(() => resolve('OK')));
  });
}
function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}
/** A random port in 22200-22299 free for tcp and udp on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 22200 + Math.floor(Math.random() * 100);
    if ((await tryListen('127.0.0.1', port)) === 'OK' && (await tryBindUdp('127.0.0.1', port)) === 'OK') return port;
  }
  throw new Error('no free port in 22200-22299');
}
const mapping = (hostPort: number, protocol: PortMapping['protocol'] = 'tcp', hostIP = '127.0.0.1'): PortMapping =>
  ({ hostIP, hostPort, containerPort: 80, protocol });

describe('port reserver', () => {
  it('holds tcp and udp ports while it runs and releases them on stop', async () => {
    const dir = await stateDir();
    const port = await freePort();
    await startPortReserver([mapping(port), mapping(port, 'udp')], dir);

    const pid = await portReserverPid(dir);
    assert.ok(pid !== undefined && existsSync(`/proc/${pid}`));
    assert.equal(await tryListen('127.0.0.1', port), 'EADDRINUSE');
    assert.equal(await tryListen('0.0.0.0', port), 'EADDRINUSE');
    assert.equal(await tryBindUdp('127.0.0.1', port), 'EADDRINUSE');
    const used = await readUsedHostPorts();
    assert.ok(used.some((u) => u.protocol === 'tcp' && u.hostIP === '127.0.0.1' && u.port === port), 'listening in /proc/net/tcp');
    assert.ok(used.some((u) => u.protocol === 'udp' && u.hostIP === '127.0.0.1' && u.port === port), 'bound in /proc/net/udp');

    await stopPortReserver(dir);
    assert.equal(await portReserverPid(dir), undefined);
    assert.equal(existsSync(join(dir, 'port-reserver.pid')), false);
    assert.equal(await tryListen('127.0.0.1', port), 'OK');
    assert.equal(await tryBindUdp('127.0.0.1', port), 'OK');
    await stopPortReserver(dir); // idempotent
  });

  it('holds a whole range of 100 ports', async () => {
    const dir = await stateDir();
    const mappings = Array.from({ length: 100 }, (_, i) => mapping(22200 + i));
    if ((await Promise.all(mappings.map((m) => tryListen('127.0.0.1', m.hostPort)))).some((r) => r !== 'OK')) {
      return; // another process uses part of the range right now
    }
    await startPortReserver(mappings, dir);
    assert.equal(await tryListen('127.0.0.1', 22200), 'EADDRINUSE');
    assert.equal(await tryListen('127.0.0.1', 22299), 'EADDRINUSE');
    await stopPortReserver(dir);
    assert.equal(await tryListen('127.0.0.1', 22299), 'OK');
  });

  it('fails with the allocation message when a port is taken, leaving nothing behind', async () => {
    const dir = await stateDir();
    const [taken, other] = [await freePort(), await freePort()];
    const blocker = await listen('127.0.0.1', taken);
    try {
      await assert.rejects(startPortReserver([mapping(other), mapping(taken)], dir),
        (e: unknown) => isTsnerdError(e, 'conflict') && e.message === `bind for 127.0.0.1:${taken} failed: port is already allocated`);
      assert.equal(await portReserverPid(dir), undefined);
      assert.equal(existsSync(join(dir, 'port-reserver.pid')), false);
      if (other !== taken) assert.equal(await tryListen('127.0.0.1', other), 'OK');
    } finally {
      blocker.close();
    }
  });

  it('replaces the reservation when started again for the same state dir', async () => {
    const dir = await stateDir();
    const [a, b] = [await freePort(), await freePort()];
    await startPortReserver([mapping(a)], dir);
    const first = await portReserverPid(dir);
    await startPortReserver([mapping(b)], dir);
    assert.notEqual(await portReserverPid(dir), first);
    if (a !== b) assert.equal(await tryListen('127.0.0.1', a), 'OK');
    assert.equal(await tryListen('127.0.0.1', b), 'EADDRINUSE');
    await stopPortReserver(dir);
  });

  it('never signals a pid from a stale pid file that belongs to another process', async () => {
    const dir = await stateDir();
    await writeFile(join(dir, 'port-reserver.pid'), `${process.pid}\n`);
    await stopPortReserver(dir);
    assert.equal(existsSync(join(dir, 'port-reserver.pid')), false);
    assert.ok(existsSync(`/proc/${process.pid}`)); // still alive: this very test
  });

  it('starts nothing without mappings', async () => {
    const dir = await stateDir();
    await startPortReserver([], dir);
    assert.equal(await portReserverPid(dir), undefined);
  });
});

describe('host port conflict check', () => {
  it('sees a port a test process listens on', async () => {
    const port = await freePort();
    const server = await listen('127.0.0.1', port);
    try {
      await assert.rejects(async () => assertPortsFree([mapping(port, 'tcp', '0.0.0.0')], await readUsedHostPorts()),
        (e: unknown) => isTsnerdError(e, 'conflict') && e.message === `bind for 0.0.0.0:${port} failed: port is already allocated`);
      assertPortsFree([mapping(port, 'udp', '0.0.0.0'), mapping(port, 'tcp', '127.0.0.2')], await readUsedHostPorts());
    } finally {
      server.close();
    }
  });
});
