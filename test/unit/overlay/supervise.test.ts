/**
 * The overlay agent's supervisor (src/overlay-agent/supervise.pl), started as the agent
 * launcher starts it (spawnDaemon with the perl wrapper), around a fake agent: a script at
 * <tmp>/overlay-agent/main.js that behaves as its state dir's `mode` file says and appends
 * its pid to `starts` each time it runs.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnDaemon } from '../../../src/adapters/host/daemon-process.ts';
import { procStatSync } from '../../../src/adapters/host/proc.ts';

const SUPERVISOR = new URL('../../../src/overlay-agent/supervise.pl', import.meta.url).pathname;

/** mode ok: ready, pid file, runs until SIGTERM (pid file removed, exit 0); fail: {"ok":false}, exit 1; busy: {"ok":true,"running":true}, exit 0. */
const FAKE_AGENT = `
const { appendFileSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } = require('node:fs');
const dir = process.argv[2];
const mode = readFileSync(dir + '/mode', 'utf8').trim();
appendFileSync(dir + '/starts', process.pid + '\\n');
const report = (m) => { try { writeSync(3, JSON.stringify(m) + '\\n'); closeSync(3); } catch {} };
if (mode === 'fail') { report({ ok: false, message: 'no device' }); process.exit(1); }
if (mode === 'busy') { report({ ok: true, running: true }); process.exit(0); }
writeFileSync(dir + '/agent.pid', process.pid + '\\n');
report({ ok: true, pid: process.pid });
process.on('SIGTERM', () => {
  // as the agent: its pid file goes with a clean exit
  try { if (readFileSync(dir + '/agent.pid', 'utf8').trim() === String(process.pid)) rmSync(dir + '/agent.pid'); } catch {}
  process.exit(0);
});
setInterval(() => undefined, 1000);
`;

let root: string;
let script: string;
let n = 0;
const started: number[] = [];

function alive(pid: number | undefined): boolean {
  return pid !== undefined && procStatSync(pid)?.live === true;
}

function pidFile(dir: string, file: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, file), 'utf8').trim());
  } catch {
    return undefined;
  }
}

function starts(dir: string): number[] {
  return existsSync(join(dir, 'starts')) ? readFileSync(join(dir, 'starts'), 'utf8').split('\n').filter(Boolean).map(Number) : [];
}

async function until(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(50)) if (fn()) return;
  assert.fail(`${what}: not within ${timeoutMs} ms`);
}

/** A state dir with state.json and the fake agent's mode. */
async function stateDir(mode: string): Promise<string> {
  const dir = join(root, `net${++n}`);
  await mkdir(dir);
  await writeFile(join(dir, 'state.json'), '{}');
  await writeFile(join(dir, 'mode'), mode);
  return dir;
}

function supervise(dir: string) {
  return spawnDaemon(script, [dir], {
    log: join(dir, 'agent.log'),
    readyTimeoutMs: 10_000,
    what: 'the fake agent',
    wrapper: { command: 'perl', args: [SUPERVISOR, dir] },
  });
}

async function supervised(dir: string): Promise<{ supervisor: number; agent: number }> {
  const ready = await supervise(dir);
  assert.equal(ready.ok, true, ready.message);
  const supervisor = pidFile(dir, 'supervisor.pid')!;
  const agent = pidFile(dir, 'agent.pid')!;
  started.push(supervisor, agent);
  assert.ok(alive(supervisor) && alive(agent));
  return { supervisor, agent };
}

describe('overlay agent supervisor (supervise.pl)', () => {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsnerd-supervise-'));
    await mkdir(join(root, 'overlay-agent'));
    script = join(root, 'overlay-agent', 'main.js');
    await writeFile(script, FAKE_AGENT);
    await writeFile(join(root, 'overlay-agent', 'package.json'), '{"type":"commonjs"}');
  });
  afterEach(() => {
    for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("passes the agent's readiness on, starts it again after kill -9 (within ~1 s), and on SIGTERM stops it and leaves", async () => {
    const dir = await stateDir('ok');
    const { supervisor, agent } = await supervised(dir);
    process.kill(agent, 'SIGKILL');
    await until('a second agent', () => starts(dir).length === 2 && alive(pidFile(dir, 'agent.pid')), 3000);
    const second = pidFile(dir, 'agent.pid')!;
    started.push(second);
    assert.notEqual(second, agent);
    assert.equal(pidFile(dir, 'supervisor.pid'), supervisor, 'the same supervisor');
    assert.match(readFileSync(join(dir, 'agent.log'), 'utf8'), /agent \d+ ended \(signal 9\): starting it again/);
    process.kill(supervisor, 'SIGTERM');
    await until('both gone', () => !alive(supervisor) && !alive(second));
    assert.equal(existsSync(join(dir, 'supervisor.pid')), false, 'its pid file is gone');
  });

  it('an agent that fails before it is ready fails the start and ends the supervisor (no restart)', async () => {
    const dir = await stateDir('fail');
    const ready = await supervise(dir);
    assert.deepEqual(ready, { ok: false, message: 'no device' });
    await sleep(2500);
    assert.equal(starts(dir).length, 1);
    assert.equal(alive(pidFile(dir, 'supervisor.pid')), false);
  });

  it('an agent that exits 0 (SIGTERM to it: network rm) ends the supervisor', async () => {
    const dir = await stateDir('ok');
    const { supervisor, agent } = await supervised(dir);
    process.kill(agent, 'SIGTERM');
    await until('the supervisor gone', () => !alive(supervisor));
    await sleep(1500);
    assert.equal(starts(dir).length, 1);
  });

  it('another agent holding the lock (running:true, exit 0): passed on, the supervisor leaves', async () => {
    const dir = await stateDir('busy');
    const ready = await supervise(dir);
    assert.deepEqual(ready, { ok: true, running: true });
    await until('no supervisor', () => !alive(pidFile(dir, 'supervisor.pid')));
  });

  it('no restart once state.json is gone (the network removed)', async () => {
    const dir = await stateDir('ok');
    const { supervisor, agent } = await supervised(dir);
    await rm(join(dir, 'state.json'));
    process.kill(agent, 'SIGKILL');
    await until('the supervisor gone', () => !alive(supervisor));
    assert.equal(starts(dir).length, 1);
    assert.match(readFileSync(join(dir, 'agent.log'), 'utf8'), /state\.json is gone/);
  });

  it("a second supervisor of the dir reports the running one's agent and leaves", async () => {
    const dir = await stateDir('ok');
    const { supervisor, agent } = await supervised(dir);
    const ready = await supervise(dir);
    assert.deepEqual(ready, { ok: true, running: true, pid: agent });
    assert.equal(pidFile(dir, 'supervisor.pid'), supervisor);
    assert.equal(starts(dir).length, 1);
  });

  it('a second supervisor while the first waits to start the agent again stops it and takes over: its start answers', async () => {
    const dir = await stateDir('ok');
    const { supervisor } = await supervised(dir);
    // Killed three times in a row: the first supervisor's next start is 4 s away.
    for (let kills = 1; kills <= 3; kills++) {
      await until(`agent ${kills}`, () => starts(dir).length === kills && alive(pidFile(dir, 'agent.pid')), 6000);
      process.kill(pidFile(dir, 'agent.pid')!, 'SIGKILL');
      await until(`agent ${kills} gone`, () => !alive(pidFile(dir, 'agent.pid')));
    }
    const t = Date.now();
    const ready = await supervise(dir);
    const agent = pidFile(dir, 'agent.pid')!;
    const second = pidFile(dir, 'supervisor.pid')!;
    started.push(agent, second);
    assert.deepEqual(ready, { ok: true, pid: agent }, "the new agent's own readiness");
    assert.ok(Date.now() - t < 3000, `answered after ${Date.now() - t} ms, not after the 4 s wait`);
    assert.ok(!alive(supervisor) && second !== supervisor && alive(second), 'the first supervisor gave way');
    assert.equal(starts(dir).length, 4);
  });

  it('an agent that keeps failing: a new start gets its failure at once, and nothing runs after', async () => {
    const dir = await stateDir('ok');
    const { supervisor, agent } = await supervised(dir);
    await writeFile(join(dir, 'mode'), 'fail');
    process.kill(agent, 'SIGKILL');
    await until('a failed restart', () => starts(dir).length >= 2, 5000);
    const t = Date.now();
    const ready = await supervise(dir);
    assert.deepEqual(ready, { ok: false, message: 'no device' });
    assert.ok(Date.now() - t < 5000, `failed after ${Date.now() - t} ms`);
    await until('no supervisor', () => !alive(supervisor) && !alive(pidFile(dir, 'supervisor.pid')));
  });

  it('adopts a live agent it did not start (its supervisor was killed) and starts it again once it dies', async () => {
    const dir = await stateDir('ok');
    const first = await supervised(dir);
    process.kill(first.supervisor, 'SIGKILL');
    await until('the first supervisor gone', () => !alive(first.supervisor));
    const ready = await supervise(dir);
    assert.deepEqual(ready, { ok: true, running: true, pid: first.agent });
    const supervisor = pidFile(dir, 'supervisor.pid')!;
    started.push(supervisor);
    assert.notEqual(supervisor, first.supervisor);
    assert.equal(starts(dir).length, 1, 'the agent was not started again');
    process.kill(first.agent, 'SIGKILL');
    await until('a new agent', () => starts(dir).length === 2 && alive(pidFile(dir, 'agent.pid')), 3000);
    started.push(pidFile(dir, 'agent.pid')!);
  });

  it('an adopted agent that exits cleanly (SIGTERM: its pid file removed) ends the supervisor, no restart', async () => {
    const dir = await stateDir('ok');
    const first = await supervised(dir);
    process.kill(first.supervisor, 'SIGKILL');
    await until('the first supervisor gone', () => !alive(first.supervisor));
    assert.equal((await supervise(dir)).ok, true);
    const supervisor = pidFile(dir, 'supervisor.pid')!;
    started.push(supervisor);
    process.kill(first.agent, 'SIGTERM');
    await until('the supervisor gone', () => !alive(supervisor));
    assert.match(readFileSync(join(dir, 'agent.log'), 'utf8'), /exited cleanly \(its pid file is gone\): done/);
    await sleep(1500);
    assert.equal(starts(dir).length, 1);
  });
});
