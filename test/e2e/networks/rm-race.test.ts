/**
 * `network rm` racing a start: the network is removed after the createRuntime
 * hook read it and before it took the CNI lock (the hook held there by
 * TSNERD_FAULT=stop:hook-resolved). The start must fail with the network named
 * and leave no bridge, IP or rule of the removed network; before, the hook
 * attached the container to it and its bridge outlived it with nothing to
 * reclaim it. Env fix-rmrace, network fxrace 10.239.2.0/24.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as h from '../harness.ts';
import { importTestImage, linkExists, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { bridgeNameFor, networkId } from '../../../src/domain/network/network-name.ts';

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'bin/tsnerd');
const NET = 'fxrace';
const CTR = 'fxrace-c1';

/** The pid of this env's createRuntime hook stopped at its fault point, if any. */
async function stoppedHook(env: TestEnv): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (!/\) T /.test(stat)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes('oci-hook') && argv.includes('createRuntime') && argv.includes(env.dataRoot)) return Number(entry);
  }
  return undefined;
}

describe('network rm while a container is starting on it', { timeout: 300_000 }, () => {
  let env: TestEnv;

  before(async () => {
    env = await startEnv('fix-rmrace');
    await importTestImage(env);
  });
  after(async () => {
    if (!env) return;
    await tsnerd(env, ['rm', '-f', CTR]);
    await tsnerd(env, ['network', 'rm', '-f', NET]);
    await env.stop();
  });

  it('the start fails naming the network, and nothing of the removed network is left', async (t) => {
    await h.ok(env, ['network', 'create', NET, '--subnet', '10.239.2.0/24']);
    const child = spawn(BIN, ['run', '-d', '--name', CTR, '--net', NET, 'busybox', 'sleep', '600'], {
      env: { ...process.env, ...env.env, TSNERD_FAULT: 'stop:hook-resolved' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = once(child, 'exit');
    let hook: number | undefined;
    t.after(() => {
      try {
        if (hook !== undefined) process.kill(hook, 'SIGCONT'); // a failed test must not leave the hook stopped
      } catch {
        // gone already
      }
    });
    for (let i = 0; i < 600 && hook === undefined && child.exitCode === null; i++) {
      hook = await stoppedHook(env);
      if (hook === undefined) await sleep(50);
    }
    assert.ok(hook !== undefined, `the hook did not stop at its fault point: ${stderr}`);

    // The hook read the network and waits for the CNI lock: rm finds no user and removes it.
    await h.ok(env, ['network', 'rm', NET]);
    process.kill(hook, 'SIGCONT');
    const [code] = (await exited) as [number | null];
    assert.notEqual(code, 0, 'the container started on a removed network');
    assert.match(stderr, /network "fxrace" not found: it was removed while the container was starting/);

    const bridge = bridgeNameFor(NET, networkId(NET));
    assert.equal(await linkExists(bridge), false, `${bridge} of the removed network exists`);
    assert.deepEqual(await readdir(`/var/lib/cni/networks/${NET}`).catch(() => []), [], 'IP allocations of the removed network');
  });
});
