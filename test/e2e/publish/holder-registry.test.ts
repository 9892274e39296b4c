/**
 * The port holder's registry (reservations.json): each distinct exit program
 * once, one line; a kill -9 of the holder restores every entry exactly (ports
 * and exit commands); a registry written by the holder before version 2 (each
 * entry's exit command whole) is read by a holder upgraded in place. The holder
 * runs for real (no containerd needed); the watched pid is this test's own.
 * Ports 44600-44799 (helper "fix"), temp data roots.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessPortReserver } from '../../../src/adapters/host/process-port-reserver.ts';
import { procStatSync } from '../../../src/adapters/host/proc.ts';
import { toNerdctlPortMapping } from '../../../src/domain/publish/stored-port-mapping.ts';
import type { Settings } from '../../../src/domain/settings.ts';
import type { ExitCommand, Registry } from '../../../src/reserver/protocol.ts';

process.env['TSNERD_PORTHOLDER_LINGER_MS'] = '100';

const PORT_BASE = 44600;
const roots: string[] = [];
const reservers: ProcessPortReserver[] = [];

after(async () => {
  for (const r of reservers) {
    const pid = await r.holderPid().catch(() => undefined);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  }
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

/** A data root with `n` state dirs and a reserver whose exit commands are built from its settings. */
async function fixture(n: number) {
  const root = await mkdtemp(join(tmpdir(), 'fx-holder-registry-'));
  roots.push(root);
  const settings: Settings = {
    address: '/run/fx-containerd.sock',
    namespace: 'fx',
    dataRoot: root,
    cniPath: '/usr/lib/cni',
    cniNetconfPath: join(root, 'net.d'),
    debug: false,
  };
  const reserver = new ProcessPortReserver(root, settings);
  reservers.push(reserver);
  const stateDirs: string[] = [];
  for (let i = 0; i < n; i++) {
    stateDirs.push(join(root, 'containers', 'fx', `${i}`.repeat(64)));
    await mkdir(stateDirs[i]!, { recursive: true });
  }
  const registryPath = join(root, 'portholder', 'reservations.json');
  return { root, reserver, stateDirs, registryPath };
}

function tryListen(port: number): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'ERROR'));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve('OK')));
  });
}

/** `count` consecutive free ports in this file's range. */
async function freePorts(count: number): Promise<number[]> {
  for (let i = 0; i < 50; i++) {
    const start = PORT_BASE + Math.floor(Math.random() * (200 - count));
    const ports = Array.from({ length: count }, (_, j) => start + j);
    if ((await Promise.all(ports.map(tryListen))).every((r) => r === 'OK')) return ports;
  }
  throw new Error(`no ${count} free ports in ${PORT_BASE}-${PORT_BASE + 199}`);
}

const mapping = (hostPort: number) => toNerdctlPortMapping({ hostIP: '127.0.0.1', hostPort, containerPort: 80, protocol: 'tcp' });
const watched = (i: number, stateDir: string) => ({
  id: `${i}`.repeat(64),
  pid: process.pid,
  annotations: { 'tsnerd/name': `fx${i}`, 'tsnerd/state-dir': stateDir, 'tsnerd/networks': '["fxn"]' },
});

/** kill -9 of the holder; resolves once its ports are free (its threads gone). */
async function killHolder(reserver: ProcessPortReserver, port: number): Promise<void> {
  const pid = await reserver.holderPid();
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGKILL');
  for (const start = Date.now(); (await tryListen(port)) !== 'OK'; await sleep(25)) {
    if (Date.now() - start > 5000) throw new Error('the killed holder did not free its ports');
  }
  for (const start = Date.now(); (await readdir(`/proc/${pid}/task`).catch(() => [])).length > 1; await sleep(25)) {
    if (Date.now() - start > 5000) break;
  }
}

describe('the port holder registry', { timeout: 60_000 }, () => {
  it('keeps each exit program once on one line, and a kill -9 restores every entry exactly', async () => {
    const { reserver, stateDirs, registryPath } = await fixture(3);
    const ports = await freePorts(3);
    for (const [i, dir] of stateDirs.entries()) await reserver.start([mapping(ports[i]!)], dir, watched(i, dir));

    const text = await readFile(registryPath, 'utf8');
    const doc = JSON.parse(text) as Registry;
    assert.equal(doc.version, 2);
    assert.equal(Object.keys(doc.programs ?? {}).length, 1, 'one exit program for three containers');
    assert.equal(text.split('oci-hook').length - 1, 1, 'the hook command written once');
    assert.equal(text.includes('\n'), false, 'one line');
    const program = Object.keys(doc.programs!)[0]!;
    for (const [i, dir] of stateDirs.entries()) {
      const entry = doc.reservations[dir]!;
      assert.equal(entry.exit?.program, program);
      assert.deepEqual(JSON.parse(entry.exit.stdin).annotations, watched(i, dir).annotations);
    }

    const before = await reserver.list();
    await killHolder(reserver, ports[0]!);
    // The next request starts a holder that binds everything again from the registry.
    const after = await reserver.list();
    assert.deepEqual(
      after.map(({ stateDir, bindings, pid }) => ({ stateDir, bindings, pid })),
      before.map(({ stateDir, bindings, pid }) => ({ stateDir, bindings, pid })),
    );
    for (const port of ports) assert.equal(await tryListen(port), 'EADDRINUSE', `port ${port} held again`);
    assert.deepEqual(JSON.parse(await readFile(registryPath, 'utf8')), doc, 'the same registry after the restore');
    for (const dir of stateDirs) assert.equal(await reserver.stop(dir), true);
  });

  it('reads a registry written before version 2 (each exit command whole) and rewrites it in the new form', async () => {
    const { reserver, stateDirs, registryPath } = await fixture(3);
    const ports = await freePorts(3);
    // What the previous holder wrote for two containers: lowdb's JSONFile, indented, onExit in every entry.
    const onExit = (i: number, dir: string): ExitCommand => ({
      argv: [process.execPath, '/opt/tsnerd/dist/cli.js', 'internal', 'oci-hook', 'exited', '--data-root', '/x'],
      env: { PATH: '/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin' },
      stdin: JSON.stringify({
        ociVersion: '1.0.2',
        id: watched(i, dir).id,
        status: 'stopped',
        pid: process.pid,
        bundle: '',
        annotations: {},
      }),
    });
    const startTime = procStatSync(process.pid)!.startTime;
    const old = {
      reservations: Object.fromEntries(
        stateDirs.slice(0, 2).map((dir, i) => [
          dir,
          {
            bindings: [{ protocol: 'tcp', hostIP: '127.0.0.1', hostPort: ports[i] }],
            pid: process.pid,
            onExit: onExit(i, dir),
            startTime,
          },
        ]),
      ),
    };
    await mkdir(join(registryPath, '..'), { recursive: true });
    await writeFile(registryPath, JSON.stringify(old, null, 2));

    const restored = await reserver.list();
    assert.deepEqual(
      restored.map((r) => [r.stateDir, r.bindings.map((b) => b.hostPort), r.pid]),
      stateDirs.slice(0, 2).map((dir, i) => [dir, [ports[i]], process.pid]),
    );
    for (const port of ports.slice(0, 2)) assert.equal(await tryListen(port), 'EADDRINUSE', `port ${port} held from the old registry`);

    await reserver.start([mapping(ports[2]!)], stateDirs[2]!, watched(2, stateDirs[2]!));
    const doc = JSON.parse(await readFile(registryPath, 'utf8')) as Registry;
    assert.equal(doc.version, 2);
    assert.equal(Object.keys(doc.programs ?? {}).length, 2, "the old entries' program and this reserver's");
    for (const [i, dir] of stateDirs.slice(0, 2).entries()) {
      const entry = doc.reservations[dir]!;
      assert.equal(entry.onExit, undefined);
      assert.deepEqual({ ...doc.programs![entry.exit!.program]!, stdin: entry.exit!.stdin }, onExit(i, dir), 'the same exit command');
    }
    for (const dir of stateDirs) assert.equal(await reserver.stop(dir), true);
  });
});
