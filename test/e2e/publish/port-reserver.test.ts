/**
 * The port reserver process on its own. Resources of this file: host ports 38700-38799
 * on 127.0.0.1 (tcp and udp), no networks. Every test stops its reserver in t.after.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import type { PortMapping } from '../../../src/domain/publish/index.ts';
import { readUsedHostPorts } from '../../../src/adapters/host/proc-net-ports.ts';
import { assertPortsFree } from '../../../src/domain/publish/port-conflicts.ts';
import { portReserverPid, startPortReserver, stopPortReserver } from '../../../src/adapters/host/process-port-reserver.ts';
import { listen, tryListen } from '../helpers.ts';

const FIRST_PORT = 38700;
const LAST_PORT = 38799;

/** A reserver state dir; its reserver is stopped and the dir removed after the test. */
async function stateDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsnerd-reserver-'));
  t.after(async () => {
    await stopPortReserver(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}
function tryBindUdp(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', (e: NodeJS.ErrnoException) => { socket.close(); resolve(e.code ?? 'ERROR'); });
    socket.bind({ address, port, exclusive: true }, () => socket.close(() => resolve('OK')));
  });
}
/** `n` distinct ports of this file's range, each free for tcp and udp on 127.0.0.1 (a busy one is a failure: the range is this file's). */
async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let port = FIRST_PORT; port <= LAST_PORT && ports.length < n; port++) {
    if ((await tryListen('127.0.0.1', port)) === 'OK' && (await tryBindUdp('127.0.0.1', port)) === 'OK') ports.push(port);
  }
  assert.equal(ports.length, n, `${n} free ports in this file's range ${FIRST_PORT}-${LAST_PORT}`);
  return ports;
}
const mapping = (hostPort: number, protocol: PortMapping['protocol'] = 'tcp', hostIP = '127.0.0.1'): PortMapping =>
  ({ hostIP, hostPort, containerPort: 80, protocol });

describe('port reserver', () => {
  it('holds tcp and udp ports while it runs and releases them on stop', async (t) => {
    const dir = await stateDir(t);
    const [port] = await freePorts(1) as [number];
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

  it('holds a whole range of 100 ports', async (t) => {
    const dir = await stateDir(t);
    const mappings = Array.from({ length: 100 }, (_, i) => mapping(FIRST_PORT + i));
    // the range is this file's alone: a port in use is a failure, not a reason to pass
    const busy = (await Promise.all(mappings.map(async (m) => [m.hostPort, await tryListen('127.0.0.1', m.hostPort)] as const))).filter(([, r]) => r !== 'OK');
    assert.deepEqual(busy, [], `ports of ${FIRST_PORT}-${LAST_PORT} in use before the test`);
    await startPortReserver(mappings, dir);
    assert.equal(await tryListen('127.0.0.1', FIRST_PORT), 'EADDRINUSE');
    assert.equal(await tryListen('127.0.0.1', FIRST_PORT + 50), 'EADDRINUSE');
    assert.equal(await tryListen('127.0.0.1', LAST_PORT), 'EADDRINUSE');
    await stopPortReserver(dir);
    assert.equal(await tryListen('127.0.0.1', LAST_PORT), 'OK');
  });

  it('fails with the allocation message when a port is taken, leaving nothing behind', async (t) => {
    const dir = await stateDir(t);
    const [taken, other] = await freePorts(2) as [number, number];
    const blocker = await listen('127.0.0.1', taken);
    try {
      await assert.rejects(startPortReserver([mapping(other), mapping(taken)], dir),
        (e: unknown) => isTsnerdError(e, 'conflict') && e.message === `bind for 127.0.0.1:${taken} failed: port is already allocated`);
      assert.equal(await portReserverPid(dir), undefined);
      assert.equal(existsSync(join(dir, 'port-reserver.pid')), false);
      assert.equal(await tryListen('127.0.0.1', other), 'OK');
    } finally {
      blocker.close();
    }
  });

  it('replaces the reservation when started again for the same state dir', async (t) => {
    const dir = await stateDir(t);
    const [a, b] = await freePorts(2) as [number, number];
    await startPortReserver([mapping(a)], dir);
    const first = await portReserverPid(dir);
    await startPortReserver([mapping(b)], dir);
    assert.notEqual(await portReserverPid(dir), first);
    assert.equal(await tryListen('127.0.0.1', a), 'OK');
    assert.equal(await tryListen('127.0.0.1', b), 'EADDRINUSE');
    await stopPortReserver(dir);
  });

  it('never signals a pid from a stale pid file that belongs to another process', async (t) => {
    const dir = await stateDir(t);
    await writeFile(join(dir, 'port-reserver.pid'), `${process.pid}\n`);
    await stopPortReserver(dir);
    assert.equal(existsSync(join(dir, 'port-reserver.pid')), false);
    assert.ok(existsSync(`/proc/${process.pid}`)); // still alive: this very test
  });

  it('starts nothing without mappings', async (t) => {
    const dir = await stateDir(t);
    await startPortReserver([], dir);
    assert.equal(await portReserverPid(dir), undefined);
  });
});

describe('host port conflict check', () => {
  it('sees a port a test process listens on', async () => {
    const [port] = await freePorts(1) as [number];
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
