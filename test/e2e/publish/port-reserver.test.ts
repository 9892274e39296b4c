import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import type { PortMapping } from '../../../src/domain/publish/index.ts';
import { toNerdctlPortMapping } from '../../../src/domain/publish/stored-port-mapping.ts';
import { readUsedHostPorts } from '../../../src/adapters/host/proc-net-ports.ts';
import { assertPortsFree } from '../../../src/domain/publish/port-conflicts.ts';
import { ProcessPortReserver } from '../../../src/adapters/host/process-port-reserver.ts';

// A holder with nothing left exits after this (default 2 s): the tests watch it go.
process.env['TSNERD_PORTHOLDER_LINGER_MS'] = '100';
process.env['TSNERD_PORTHOLDER_POLL_MS'] = '50';
process.env['TSNERD_PORTHOLDER_GRACE_MS'] = '50';

/** This file's ports: 38700-38799. */
const PORT_BASE = 38700;
const dirs: string[] = [];
const reservers: ProcessPortReserver[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsnerd-holder-'));
  dirs.push(dir);
  return dir;
}
/** A reserver on a fresh data root, with a state dir for each of `n` containers. */
async function fixture(n = 1): Promise<{ reserver: ProcessPortReserver; stateDirs: string[] }> {
  const root = await tempDir();
  const reserver = new ProcessPortReserver(root);
  reservers.push(reserver);
  const stateDirs: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = join(root, 'containers', `c${i}`);
    await mkdir(d, { recursive: true });
    stateDirs.push(d);
  }
  return { reserver, stateDirs };
}
after(async () => {
  for (const r of reservers) {
    const pid = await r.holderPid().catch(() => undefined);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
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
    socket.once('error', (e: NodeJS.ErrnoException) => {
      socket.close();
      resolve(e.code ?? 'ERROR');
    });
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
/** `count` consecutive ports in 39800-39899 free for tcp and udp on 127.0.0.1 (a random start). */
async function freePorts(count: number): Promise<number[]> {
  for (let i = 0; i < 50; i++) {
    const start = PORT_BASE + Math.floor(Math.random() * (100 - count));
    const ports = Array.from({ length: count }, (_, j) => start + j);
    const ok = await Promise.all(
      ports.map(async (p) => (await tryListen('127.0.0.1', p)) === 'OK' && (await tryBindUdp('127.0.0.1', p)) === 'OK'),
    );
    if (ok.every(Boolean)) return ports;
  }
  throw new Error(`no ${count} free ports in this file's range ${PORT_BASE}-${PORT_BASE + 99}`);
}
async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
const portMapping = (hostPort: number, protocol: PortMapping['protocol'] = 'tcp', hostIP = '127.0.0.1'): PortMapping => ({
  hostIP,
  hostPort,
  containerPort: 80,
  protocol,
});
const mapping = (hostPort: number, protocol: PortMapping['protocol'] = 'tcp', hostIP = '127.0.0.1') =>
  toNerdctlPortMapping(portMapping(hostPort, protocol, hostIP));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
/**
 * The process is gone or a zombie whose threads have all exited. A killed multi-threaded
 * process shows its leader as a zombie while the other threads still unwind and still
 * hold the shared file table (its sockets): /proc/PID/task lists only the leader then.
 */
const gone = (pid: number) => async () => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (stat === '') return true;
  if (stat.split(') ')[1]?.startsWith('Z') !== true) return false;
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  return tasks.length <= 1;
};

describe('port holder', () => {
  it('holds tcp and udp ports while reserved, releases them on stop and exits when nothing is left', async () => {
    const {
      reserver,
      stateDirs: [dir],
    } = await fixture();
    const port = await freePort();
    await reserver.start([mapping(port), mapping(port, 'udp')], dir!);

    const pid = await reserver.holderPid();
    assert.ok(pid !== undefined && existsSync(`/proc/${pid}`));
    assert.equal(await tryListen('127.0.0.1', port), 'EADDRINUSE');
    assert.equal(await tryListen('0.0.0.0', port), 'EADDRINUSE');
    assert.equal(await tryBindUdp('127.0.0.1', port), 'EADDRINUSE');
    const used = await readUsedHostPorts();
    assert.ok(
      used.some((u) => u.protocol === 'tcp' && u.hostIP === '127.0.0.1' && u.port === port),
      'listening in /proc/net/tcp',
    );
    assert.ok(
      used.some((u) => u.protocol === 'udp' && u.hostIP === '127.0.0.1' && u.port === port),
      'bound in /proc/net/udp',
    );

    assert.equal(await reserver.stop(dir!), true);
    assert.equal(await tryListen('127.0.0.1', port), 'OK');
    assert.equal(await tryBindUdp('127.0.0.1', port), 'OK');
    assert.equal(await reserver.stop(dir!), false); // idempotent
    await waitFor('the idle holder to exit', gone(pid));
    assert.equal(existsSync(join(reserver.holderDir, 'holder.sock')), false);
  });

  it('holds a whole range of 60 ports', async () => {
    const {
      reserver,
      stateDirs: [dir],
    } = await fixture();
    const ports = await freePorts(60);
    await reserver.start(
      ports.map((p) => mapping(p)),
      dir!,
    );
    assert.equal(await tryListen('127.0.0.1', ports[0]!), 'EADDRINUSE');
    assert.equal(await tryListen('127.0.0.1', ports[59]!), 'EADDRINUSE');
    await reserver.stop(dir!);
    assert.equal(await tryListen('127.0.0.1', ports[59]!), 'OK');
  });

  it('fails with the allocation message when a port is taken, leaving nothing of that container held', async () => {
    const {
      reserver,
      stateDirs: [dir],
    } = await fixture();
    const [other, taken] = await freePorts(2);
    const blocker = await listen('127.0.0.1', taken!);
    try {
      await assert.rejects(
        reserver.start([mapping(other!), mapping(taken!)], dir!),
        (e: unknown) => isTsnerdError(e, 'conflict') && e.message === `bind for 127.0.0.1:${taken} failed: port is already allocated`,
      );
      assert.equal(await tryListen('127.0.0.1', other!), 'OK');
      assert.deepEqual(await reserver.list(), []);
    } finally {
      blocker.close();
    }
  });

  it("replaces a container's reservation when started again for the same state dir", async () => {
    const {
      reserver,
      stateDirs: [dir],
    } = await fixture();
    const [a, b] = await freePorts(2);
    await reserver.start([mapping(a!)], dir!);
    await reserver.start([mapping(b!)], dir!);
    assert.equal(await tryListen('127.0.0.1', a!), 'OK');
    assert.equal(await tryListen('127.0.0.1', b!), 'EADDRINUSE');
    assert.deepEqual(
      (await reserver.list()).map((r) => r.bindings.map((x) => x.hostPort)),
      [[b]],
    );
    await reserver.stop(dir!);
  });

  it('is one process for many containers, also when they start at once', async () => {
    const { reserver, stateDirs } = await fixture(12);
    const ports = await freePorts(12);
    await Promise.all(stateDirs.map((d, i) => reserver.start([mapping(ports[i]!)], d)));
    const pid = await reserver.holderPid();
    const ss = await new Promise<string>((resolve) => {
      const child = spawn('ss', ['-Hlntp']);
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', () => resolve(out));
    });
    for (const p of ports) {
      const line = ss.split('\n').find((l) => l.includes(`127.0.0.1:${p} `));
      assert.ok(line?.includes(`pid=${pid},`), `port ${p} held by the holder ${pid}: ${line}`);
    }
    const log = await readFile(join(reserver.holderDir, 'holder.log'), 'utf8');
    assert.equal(log.match(/listening \(pid/g)?.length, 1, 'one holder started');
    await Promise.all(stateDirs.map((d) => reserver.stop(d)));
  });

  it('after a kill -9, reconcile starts a new holder that binds exactly the registered ports again', async () => {
    const {
      reserver,
      stateDirs: [d1, d2],
    } = await fixture(2);
    const [a, b, c] = await freePorts(3);
    await reserver.start([mapping(a!)], d1!);
    await reserver.start([mapping(b!), mapping(c!)], d2!);
    await reserver.stop(d1!);
    const first = (await reserver.holderPid())!;
    process.kill(first, 'SIGKILL');
    await waitFor('the holder to die', gone(first));
    assert.equal(await tryListen('127.0.0.1', b!), 'OK', 'nothing holds the ports after the kill');

    const held = await reserver.list();
    const second = await reserver.holderPid();
    assert.ok(second !== undefined && second !== first);
    assert.deepEqual(
      held.map((r) => [r.stateDir, r.bindings.map((x) => x.hostPort).sort()]),
      [[d2, [b, c].sort()]],
    );
    assert.equal(await tryListen('127.0.0.1', b!), 'EADDRINUSE');
    assert.equal(await tryListen('127.0.0.1', c!), 'EADDRINUSE');
    assert.equal(await tryListen('127.0.0.1', a!), 'OK');
    await reserver.stop(d2!);
  });

  it('a stop while no holder runs still drops the registered reservation', async () => {
    const {
      reserver,
      stateDirs: [dir],
    } = await fixture();
    const port = await freePort();
    await reserver.start([mapping(port)], dir!);
    const pid = (await reserver.holderPid())!;
    process.kill(pid, 'SIGKILL');
    await waitFor('the holder to die', gone(pid));
    assert.equal(await reserver.stop(dir!), true);
    assert.deepEqual(await reserver.list(), []);
    assert.equal(await tryListen('127.0.0.1', port), 'OK');
  });

  it("gives a watched container's ports back when its process exits", async () => {
    const {
      reserver,
      stateDirs: [dir],
    } = await fixture();
    const port = await freePort();
    const child = spawn('sleep', ['3'], { stdio: 'ignore' });
    const exit = new Promise((resolve) => child.once('exit', resolve));
    await reserver.start([mapping(port)], dir!, { id: 'c0', pid: child.pid!, annotations: {} });
    assert.equal(await tryListen('127.0.0.1', port), 'EADDRINUSE');
    child.kill('SIGTERM');
    await exit;
    const exited = Date.now();
    await waitFor('the port to be free', async () => (await tryListen('127.0.0.1', port)) === 'OK', 2000);
    assert.ok(Date.now() - exited < 2000);
    assert.deepEqual(await reserver.list(), []);
  });

  it('starts nothing without mappings or a container to watch', async () => {
    const {
      reserver,
      stateDirs: [dir],
    } = await fixture();
    await reserver.start([], dir!);
    assert.equal(await reserver.holderPid(), undefined);
  });
});

describe('host port conflict check', () => {
  it('sees a port a test process listens on', async () => {
    const port = await freePort();
    const server = await listen('127.0.0.1', port);
    try {
      await assert.rejects(
        async () => assertPortsFree([portMapping(port, 'tcp', '0.0.0.0')], await readUsedHostPorts()),
        (e: unknown) => isTsnerdError(e, 'conflict') && e.message === `bind for 0.0.0.0:${port} failed: port is already allocated`,
      );
      assertPortsFree([portMapping(port, 'udp', '0.0.0.0'), portMapping(port, 'tcp', '127.0.0.2')], await readUsedHostPorts());
    } finally {
      server.close();
    }
  });
});
