/**
 * `network gc` decides by the creation claim, not by a grace period: a `run`
 * held in flight (stopped by TSNERD_FAULT=stop:snapshot, its claim naming a
 * live process) keeps its name, state dir and snapshot through a gc and then
 * completes; a `run` killed at the same step leaves a snapshot under its lease,
 * a name and a state dir that gc removes at once (--net none). The bridge of a
 * network whose conflist was deleted by hand goes once idle, only when tsnerd
 * created that network (network dmn-gc-net 10.233.1.0/24, bridge dmn-gc-other).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as h from '../harness.ts';
import { ctr, importTestImage, linkExists, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { addressHash } from '../../../src/domain/settings.ts';

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'bin/tsnerd');
const HELD = 'dmn-gc-held';
const KILLED = 'dmn-gc-killed';
const NET = 'dmn-gc-net';
const OTHER_BRIDGE = 'dmn-gc-other';

describe('network gc and creations in flight or killed', { timeout: 300_000 }, () => {
  let env: TestEnv;
  const ok = (args: string[]) => h.ok(env, args);
  const containersDir = () => join(env.dataRoot, addressHash(env.address), 'containers', env.namespace);
  const namesDir = () => join(env.dataRoot, addressHash(env.address), 'names', env.namespace);
  /** IDs whose state dir holds a creation claim. */
  const claimed = async () => {
    const ids: string[] = [];
    for (const id of await readdir(containersDir()).catch(() => [] as string[])) {
      if ((await readdir(join(containersDir(), id)).catch(() => [] as string[])).includes('creating')) ids.push(id);
    }
    return ids;
  };
  const gcItems = async () =>
    (await ok(['network', 'gc', '--format', 'json']))
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as { Kind: string; Item: string; Container: string });
  const leases = async () => (await ctr(env, ['leases', 'ls', '-q'])).stdout;
  const snapshots = async () => (await ctr(env, ['snapshots', 'ls'])).stdout;

  before(async () => {
    env = await startEnv('dmn-gc');
    await importTestImage(env);
  });
  after(async () => {
    if (!env) return;
    await tsnerd(env, ['rm', '-f', HELD, KILLED]);
    await env.stop();
  });

  it('leaves a run in flight alone (its claim names a live process); the run then completes', async (t) => {
    const child = spawn(BIN, ['run', '-d', '--name', HELD, '--net', 'none', 'busybox', 'sleep', '600'], {
      env: { ...process.env, ...env.env, TSNERD_FAULT: 'stop:snapshot' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = once(child, 'exit');
    t.after(() => {
      if (child.exitCode === null && child.pid !== undefined) {
        process.kill(child.pid, 'SIGKILL');
        process.kill(child.pid, 'SIGCONT');
      }
    });
    // Stopped at the fault point: state dir, name and snapshot made, no containerd record yet.
    const stopped = async () => /\) T /.test(await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => ''));
    for (let i = 0; i < 600 && !(await stopped()); i++) await sleep(50);
    assert.ok(await stopped(), `the run did not reach the snapshot step: ${stderr}`);
    const [id] = await claimed();
    assert.ok(id, 'no claimed state dir');
    assert.match(await leases(), new RegExp(`tsnerd-snapshot-${id}`));

    const items = await gcItems();
    assert.deepEqual(
      items.filter((i) => id!.startsWith(i.Container) || i.Item.includes(HELD)),
      [],
      `gc released parts of the run in flight: ${JSON.stringify(items)}`,
    );
    assert.deepEqual(await claimed(), [id], 'gc removed the state dir of the run in flight');
    assert.equal((await readFile(join(namesDir(), HELD), 'utf8')).trim(), id);

    process.kill(child.pid!, 'SIGCONT');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, `the run failed after gc: ${stderr}`);
    assert.match(await ok(['ps', '--format', '{{.Names}}']), new RegExp(HELD));
    await ok(['rm', '-f', HELD]);
  });

  it('removes at once the snapshot, lease, name and state dir a killed run left', async () => {
    const r = await tsnerd({ ...env, env: { ...env.env, TSNERD_FAULT: 'snapshot' } }, [
      'run',
      '-d',
      '--name',
      KILLED,
      '--net',
      'none',
      'busybox',
      'true',
    ]);
    assert.notEqual(r.exitCode, 0, 'the fault did not fire');
    const [id] = await claimed();
    assert.ok(id, 'no claimed state dir');
    assert.match(await leases(), new RegExp(`tsnerd-snapshot-${id}`));
    assert.match(await snapshots(), new RegExp(id!));

    const kinds = (await gcItems()).filter((i) => id!.startsWith(i.Container)).map((i) => i.Kind);
    for (const kind of ['snapshot', 'name', 'state-dir'])
      assert.ok(kinds.includes(kind), `gc did not release the ${kind}: ${kinds.join(', ')}`);
    assert.doesNotMatch(await leases(), new RegExp(id!));
    assert.doesNotMatch(await snapshots(), new RegExp(id!));
    assert.deepEqual(await claimed(), []);
    await h.secondGcFindsNothing(env);
    // The name is free again.
    await ok(['run', '-d', '--name', KILLED, '--net', 'none', 'busybox', 'sleep', '600']);
    await ok(['rm', '-f', KILLED]);
  });

  it("removes the idle bridge of a network whose conflist was deleted by hand, and never another's bridge", async (t) => {
    t.after(async () => {
      await tsnerd(env, ['network', 'rm', '-f', NET]);
      if (await linkExists(OTHER_BRIDGE)) execFileSync('ip', ['link', 'del', OTHER_BRIDGE]);
    });
    execFileSync('ip', ['link', 'add', OTHER_BRIDGE, 'type', 'bridge']);
    await ok(['network', 'create', NET, '--subnet', '10.233.1.0/24']);
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']);
    const inspected = JSON.parse(await ok(['network', 'inspect', NET])) as { Id: string }[];
    const bridge = `br-${inspected[0]!.Id.slice(0, 12)}`;
    assert.ok(await linkExists(bridge), `${bridge} was not made`);
    // While the network exists its idle bridge stays.
    assert.deepEqual(
      (await gcItems()).filter((i) => i.Kind === 'bridge'),
      [],
    );

    const conflist = (await readdir(env.netconfPath, { recursive: true })).find((f) => f.endsWith(`${NET}.conflist`));
    assert.ok(conflist, 'no conflist');
    await rm(join(env.netconfPath, conflist));
    const items = (await gcItems()).filter((i) => i.Kind === 'bridge');
    assert.deepEqual(
      items.map((i) => i.Item),
      [`${bridge} (${NET})`],
    );
    assert.ok(!(await linkExists(bridge)), `${bridge} is still there`);
    assert.ok(await linkExists(OTHER_BRIDGE), 'gc removed a bridge tsnerd did not create');
    await h.secondGcFindsNothing(env);
  });
});
