/**
 * `run -p` end to end (issue 5): real containerd, runc, CNI bridge + portmap,
 * iptables and the port reserver. Resources of this file: the network t-pub-net
 * (made in before, removed in after) on 10.228.1.0/24, containers t-p-*, host ports
 * 38800-38899 (and the automatic range); traffic goes only to 127.0.0.0/8. Every test
 * removes its containers in t.after.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import * as h from '../harness.ts';
import { canBind, ctr, httpGet, importTestImage, listen, removeAfter, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { addressHash } from '../../../src/domain/settings.ts';

let env: TestEnv;
const NET = 't-pub-net';
const SUBNET = '10.228.1.0/24';
/** P..P+19 are the explicit host ports of the tests; P..P+99 is this file's range. */
const P = 38800;

const ok = (args: string[]) => h.ok(env, args);
const cleanup = (t: TestContext, containers: string[]) => removeAfter(t, env, { containers });
/** busybox httpd on port 80 whose page is `body`. */
const httpd = (body: string) => ['busybox', 'sh', '-c', `echo ${body} > /tmp/index.html && exec httpd -f -p 80 -h /tmp`];
const runWeb = (name: string, publish: string[], body = name) =>
  ok(['run', '-d', '--name', name, '--net', NET, ...publish.flatMap((p) => ['-p', p]), ...httpd(body)]);

/** The page at host:port, retried while the container's httpd comes up. */
const get = async (host: string, port: number) => (await httpGet(`http://${host}:${port}/`, 40)).trim();

/** The outcome of one TCP connect: 'connected' or the error code (ECONNREFUSED, ETIMEDOUT, …). */
function tcpConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'ERROR'));
  });
}

/** Sends `text` to 127.0.0.1:port over UDP and returns the first reply (retried until one comes). */
async function udpExchange(port: number, text: string): Promise<string> {
  const socket = createSocket('udp4');
  try {
    const reply = new Promise<string>((resolve) => socket.on('message', (m) => resolve(String(m))));
    reply.catch(() => {});
    for (let i = 0; i < 40; i++) {
      socket.send(text, port, '127.0.0.1');
      const got = await Promise.race([reply, sleep(250, undefined)]);
      if (got !== undefined) return got;
    }
    throw new Error(`no UDP reply from 127.0.0.1:${port}`);
  } finally {
    socket.close();
  }
}

const storeDir = (...parts: string[]) => join(env.dataRoot, addressHash(env.address), ...parts);
const entries = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();

/** Everything a container leaves on the host and in the store, to compare before and after a failed run. */
async function footprint() {
  const nat = (await execa('iptables-save', ['-t', 'nat'])).stdout.split('\n');
  const ids = (await ctr(env, ['containers', 'ls', '-q'])).stdout.split('\n').filter(Boolean).sort();
  return {
    containers: ids,
    snapshots: (await ctr(env, ['snapshots', 'ls'])).stdout
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((l) => l.split(/\s+/)[0])
      .sort(),
    stateDirs: await entries(storeDir('containers', env.namespace)),
    names: await entries(storeDir('names', env.namespace)),
    hostsDirs: await entries(storeDir('etchosts', env.namespace)),
    reservations: await reserverPids(),
    // portmap names the container as "<namespace>-<id>" in its rule comments
    iptables: nat
      .filter((l) => l.includes(`${env.namespace}-`))
      .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
      .sort(),
  };
}

/** The state dirs whose ports the data store's port holder has registered (src/reserver/main.ts). */
async function reserverPids(): Promise<string[]> {
  const text = await readFile(join(env.dataRoot, 'portholder', 'reservations.json'), 'utf8').catch(() => '{}');
  return Object.keys((JSON.parse(text) as { reservations?: Record<string, unknown> }).reservations ?? {}).sort();
}

const pidOf = async (name: string) => (JSON.parse(await ok(['inspect', name])) as { State: { Pid: number } }[])[0]!.State.Pid;
const portsColumn = async (name: string) =>
  (await ok(['ps', '--format', '{{.Names}}|{{.Ports}}']))
    .split('\n')
    .find((l) => l.startsWith(`${name}|`))
    ?.split('|')[1];

describe('port publishing (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    env = await startEnv('t-ports2');
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', SUBNET]);
  });
  after(async () => {
    if (!env) return;
    await tsnerd(env, ['network', 'rm', NET]);
    await env.stop();
  });

  it('-p 127.0.0.1:P:80 serves on 127.0.0.1:P and is reserved while the container runs', async (t) => {
    cleanup(t, ['t-p-lo']);
    await runWeb('t-p-lo', [`127.0.0.1:${P}:80`]);
    assert.equal(await get('127.0.0.1', P), 't-p-lo');
    assert.equal(await canBind('127.0.0.1', P), false, 'the reserver holds the published port');
    assert.equal(await portsColumn('t-p-lo'), `127.0.0.1:${P}->80/tcp`);
    assert.equal(await ok(['port', 't-p-lo']), `80/tcp -> 127.0.0.1:${P}`);
  });

  it('-p 127.0.0.2:P:80 serves on 127.0.0.2 only', async (t) => {
    cleanup(t, ['t-p-lo2']);
    await runWeb('t-p-lo2', [`127.0.0.2:${P + 1}:80`]);
    assert.equal(await get('127.0.0.2', P + 1), 't-p-lo2');
    assert.equal(await tcpConnect('127.0.0.1', P + 1), 'ECONNREFUSED');
  });

  it('-p P:80 (all addresses) serves on 127.0.0.1', async (t) => {
    cleanup(t, ['t-p-any']);
    await runWeb('t-p-any', [`${P + 2}:80`]);
    assert.equal(await get('127.0.0.1', P + 2), 't-p-any');
    assert.equal(await ok(['port', 't-p-any', '80']), `0.0.0.0:${P + 2}`);
  });

  it('-p 127.0.0.1:P-P+5:79-84 maps P+1 to 80, and ps folds the range', async (t) => {
    cleanup(t, ['t-p-range']);
    await runWeb('t-p-range', [`127.0.0.1:${P + 3}-${P + 8}:79-84`]);
    assert.equal(await get('127.0.0.1', P + 4), 't-p-range');
    assert.equal(await tcpConnect('127.0.0.1', P + 3), 'ECONNREFUSED', 'P goes to port 79, where nothing listens');
    assert.equal(await portsColumn('t-p-range'), `127.0.0.1:${P + 3}-${P + 8}->79-84/tcp`);
    const lines = (await ok(['port', 't-p-range'])).split('\n');
    assert.equal(lines.length, 6);
    assert.equal(lines[1], `80/tcp -> 127.0.0.1:${P + 4}`);
  });

  it('a host range with one container port binds the first free port only', async (t) => {
    cleanup(t, ['t-p-pool']);
    const squatter = await listen('127.0.0.1', P + 9);
    try {
      await runWeb('t-p-pool', [`127.0.0.1:${P + 9}-${P + 12}:80`]);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    assert.equal(await ok(['port', 't-p-pool']), `80/tcp -> 127.0.0.1:${P + 10}`);
    assert.equal(await get('127.0.0.1', P + 10), 't-p-pool');
    assert.equal(await tcpConnect('127.0.0.1', P + 11), 'ECONNREFUSED');
    assert.equal(await canBind('127.0.0.1', P + 11), true, 'the rest of the pool stays free');
  });

  it('-p 127.0.0.1:P:5353/udp forwards datagrams to a UDP echo in the container', async (t) => {
    cleanup(t, ['t-p-udp']);
    await ok(['run', '-d', '--name', 't-p-udp', '--net', NET, '-p', `127.0.0.1:${P + 13}:5353/udp`, 'busybox', 'sleep', '1000']);
    assert.equal(await ok(['port', 't-p-udp', '5353/udp']), `127.0.0.1:${P + 13}`);
    // busybox's nc has no UDP mode: the echo is a node process in the container's network namespace.
    const echo = execa(
      'nsenter',
      [
        '-t',
        String(await pidOf('t-p-udp')),
        '-n',
        process.execPath,
        '-e',
        [
          "const s = require('node:dgram').createSocket('udp4');",
          "s.on('message', (m, r) => s.send('echo:' + m, r.port, r.address));",
          "s.bind(5353, '0.0.0.0');",
        ].join(''),
      ],
      { reject: false },
    );
    try {
      assert.equal(await udpExchange(P + 13, 'ping'), 'echo:ping');
    } finally {
      echo.kill('SIGKILL');
      await echo;
    }
  });

  it('-p 80 twice: two different automatic host ports, both serving, shown by port', async (t) => {
    cleanup(t, ['t-p-auto1', 't-p-auto2']);
    await runWeb('t-p-auto1', ['80']);
    await runWeb('t-p-auto2', ['80']);
    const ports: number[] = [];
    for (const name of ['t-p-auto1', 't-p-auto2']) {
      const listed = await ok(['port', name]);
      const m = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(listed);
      assert.ok(m, listed);
      const port = Number(m[1]);
      assert.ok(port >= 49153 && port <= 60999, `${port} is in the automatic range`);
      assert.equal(await ok(['port', name, '80/tcp']), `0.0.0.0:${port}`);
      assert.equal(await get('127.0.0.1', port), name);
      ports.push(port);
    }
    assert.notEqual(ports[0], ports[1]);
    const missing = await tsnerd(env, ['port', 't-p-auto1', '81']);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /^tsnerd: no public port 81\/tcp published for "[0-9a-f]{64}"$/);
  });

  it('the same explicit host port twice: the second run fails with "port is already allocated" and leaves nothing', async (t) => {
    cleanup(t, ['t-p-dup1', 't-p-dup2']);
    await runWeb('t-p-dup1', [`127.0.0.1:${P + 14}:80`]);
    const before = await footprint();
    for (const [spec, shown] of [
      [`127.0.0.1:${P + 14}:80`, `127.0.0.1:${P + 14}`],
      [`${P + 14}:80`, `0.0.0.0:${P + 14}`],
    ] as const) {
      const r = await tsnerd(env, ['run', '-d', '--name', 't-p-dup2', '--net', NET, '-p', spec, ...httpd('t-p-dup2')]);
      assert.equal(r.exitCode, 1);
      assert.equal(r.stderr, `tsnerd: bind for ${shown} failed: port is already allocated`);
      assert.deepEqual(await footprint(), before);
    }
    // a port bound by a host process conflicts the same way
    const squatter = await listen('127.0.0.1', P + 15);
    try {
      const r = await tsnerd(env, ['run', '-d', '--name', 't-p-dup2', '--net', NET, '-p', `127.0.0.1:${P + 15}:80`, ...httpd('x')]);
      assert.equal(r.stderr, `tsnerd: bind for 127.0.0.1:${P + 15} failed: port is already allocated`);
      assert.deepEqual(await footprint(), before);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    assert.equal(await get('127.0.0.1', P + 14), 't-p-dup1', 'the first container still serves');
  });

  it('stop frees the port for another container; start restores the first one after that one is removed', async (t) => {
    cleanup(t, ['t-p-stop1', 't-p-stop2']);
    const port = P + 16;
    await runWeb('t-p-stop1', [`127.0.0.1:${port}:80`], 'first');
    assert.equal(await get('127.0.0.1', port), 'first');
    await ok(['stop', '-t', '1', 't-p-stop1']);
    assert.equal(await tcpConnect('127.0.0.1', port), 'ECONNREFUSED');
    assert.equal(await portsColumn('t-p-stop1'), undefined, 'ps lists running containers only');

    await runWeb('t-p-stop2', [`127.0.0.1:${port}:80`], 'second');
    assert.equal(await get('127.0.0.1', port), 'second');
    const busy = await tsnerd(env, ['start', 't-p-stop1']);
    assert.equal(busy.exitCode, 1);
    assert.equal(busy.stderr, `tsnerd: bind for 127.0.0.1:${port} failed: port is already allocated`);
    assert.equal(await get('127.0.0.1', port), 'second', 'the failed start left the other forward alone');

    await ok(['rm', '-f', 't-p-stop2']);
    await ok(['start', 't-p-stop1']);
    assert.equal(await get('127.0.0.1', port), 'first');
    assert.equal(await portsColumn('t-p-stop1'), `127.0.0.1:${port}->80/tcp`);
  });

  it('start of a container that exited on its own publishes its port again', async (t) => {
    cleanup(t, ['t-p-exit']);
    const port = P + 19;
    // The first run exits at once; the second (the snapshot keeps /tmp/ran) serves.
    const script = `[ -f /tmp/ran ] || { touch /tmp/ran; exit 0; }; echo again > /tmp/index.html && exec httpd -f -p 80 -h /tmp`;
    await ok(['run', '-d', '--name', 't-p-exit', '--net', NET, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', script]);
    for (let i = 0; i < 50 && (await portsColumn('t-p-exit')) !== undefined; i++) await sleep(100);
    assert.equal(await portsColumn('t-p-exit'), undefined, 'the container exited');
    await ok(['start', 't-p-exit']);
    assert.equal(await get('127.0.0.1', port), 'again');
    assert.equal(await ok(['port', 't-p-exit']), `80/tcp -> 127.0.0.1:${port}`);
  });

  it('kill drops the forward too', async (t) => {
    cleanup(t, ['t-p-kill']);
    const port = P + 17;
    await runWeb('t-p-kill', [`127.0.0.1:${port}:80`]);
    assert.equal(await get('127.0.0.1', port), 't-p-kill');
    await ok(['kill', 't-p-kill']);
    assert.equal(await tcpConnect('127.0.0.1', port), 'ECONNREFUSED');
    assert.equal(await canBind('127.0.0.1', port), true);
  });

  it('rm -f removes the forwards, the reservation and the store entry', async (t) => {
    cleanup(t, ['t-p-rm']);
    const port = P + 18;
    const id = await runWeb('t-p-rm', [`127.0.0.1:${port}:80`]);
    assert.equal(await get('127.0.0.1', port), 't-p-rm');
    assert.ok((await execa('iptables-save', ['-t', 'nat'])).stdout.includes(id), 'portmap rules name the container');
    await ok(['rm', '-f', 't-p-rm']);
    assert.equal((await execa('iptables-save', ['-t', 'nat'])).stdout.includes(id), false);
    assert.equal(await canBind('127.0.0.1', port), true);
    assert.equal(existsSync(storeDir('containers', env.namespace, id)), false);
    assert.equal(existsSync(storeDir('etchosts', env.namespace, id)), false);
  });

  it('run --rm -p P-P+99:P-P+99 (100 ports) busybox true leaves no iptables rule, reservation or store entry', async (t) => {
    cleanup(t, ['t-p-many']);
    const before = await footprint();
    await ok(['run', '--rm', '--name', 't-p-many', '--net', NET, '-p', `${P}-${P + 99}:${P}-${P + 99}`, 'busybox', 'true']);
    assert.deepEqual(await footprint(), before);
    const nat = (await execa('iptables-save', ['-t', 'nat'])).stdout;
    assert.doesNotMatch(nat, new RegExp(`--dports? ${String(P).slice(0, 3)}\\d\\d`));
    for (const port of [P, P + 50, P + 99]) assert.equal(await canBind('0.0.0.0', port), true, `${port} is free`);
  });

  it('bad -p specs give one-line errors and create nothing', async (t) => {
    cleanup(t, ['t-p-bad']);
    const before = await footprint();
    const cases: [string, RegExp][] = [
      ['1:2:3:4', /^tsnerd: invalid hostPort: 1:2:3$/],
      ['80/xyz', /^tsnerd: invalid protocol "xyz"$/],
      ['70000', /^tsnerd: invalid containerPort: 70000$/],
      [`${P}-${P + 2}:80-81`, /^tsnerd: invalid ranges specified for container and host Ports: 80-81 and \d+-\d+$/],
      ['::1:80:80', /^tsnerd: invalid hostPort: ::1:80 .*brackets.*$/],
    ];
    for (const [spec, message] of cases) {
      const r = await tsnerd(env, ['run', '-d', '--name', 't-p-bad', '--net', NET, '-p', spec, 'busybox', 'true']);
      assert.notEqual(r.exitCode, 0, spec);
      assert.match(r.stderr, message, spec);
    }
    assert.deepEqual(await footprint(), before);
  });
});
