/**
 * Damaged store files (issue 12, item 6): with each of lifecycle.json,
 * network-config.json, port-reserver.pid, the names file, a peer's meta.json
 * garbage, or the state dir deleted, `rm -f` releases IPs, rules, cache
 * entries, the reserver and hosts lines: the host state equals the baseline,
 * and the same name and host port work for the next run and are reachable.
 * Network gc-c in 10.211.5.0/24, host ports 39120-39129.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { snapshotHostState, waitForHostState, type HostState, type HostStateScope } from '../host-state.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';

const NET = 'gc-c';
const PORT = 39120;
const NAME = 'gc-c-v';
const scope: HostStateScope = { networks: [NET], ports: [39120, 39129] };
const GARBAGE = '\u0000{garbage\n';
const httpd = (body: string) => ['busybox', 'sh', '-c', `echo ${body} > /tmp/index.html && exec httpd -f -p 80 -h /tmp`];

async function get(port: number): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).text()).trim();
    } catch (err) {
      last = err;
      await sleep(100);
    }
  }
  throw new Error(`GET 127.0.0.1:${port} failed: ${String((last as Error).cause ?? last)}`);
}

describe('rm -f with damaged store files', { timeout: 600_000 }, () => {
  let env: TestEnv;
  let store: string;
  let peer: string;
  let baseline: HostState;
  const ok = async (args: string[]) => {
    const r = await tsnerd(env, args);
    assert.equal(r.exitCode, 0, `tsnerd ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  before(async () => {
    env = await startEnv('gc-corrupt');
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', '10.211.5.0/24']);
    peer = await ok(['run', '-d', '--name', 'gc-c-peer', '--net', NET, 'busybox', 'sleep', '600']);
    store = new StoreLayout(env.dataRoot, env.address).root; // not readdir's first: the CLI server's dir is there too
    baseline = await snapshotHostState(env, scope);
  });
  after(async () => {
    await tsnerd(env, ['rm', '-f', 'gc-c-peer']);
    await tsnerd(env, ['network', 'rm', NET]);
    await env.stop();
  });

  const damages: [string, (id: string) => Promise<() => Promise<void>>][] = [
    [
      'lifecycle.json',
      async (id) => nothingToRestore(await writeFile(join(store, 'containers', env.namespace, id, 'lifecycle.json'), GARBAGE)),
    ],
    [
      'network-config.json',
      async (id) => nothingToRestore(await writeFile(join(store, 'containers', env.namespace, id, 'network-config.json'), GARBAGE)),
    ],
    [
      'port-reserver.pid',
      async (id) => nothingToRestore(await writeFile(join(store, 'containers', env.namespace, id, 'port-reserver.pid'), GARBAGE)),
    ],
    ['the names file', async () => nothingToRestore(await writeFile(join(store, 'names', env.namespace, NAME), GARBAGE))],
    [
      "a peer's meta.json",
      async () => {
        const path = join(store, 'etchosts', env.namespace, peer, 'meta.json');
        const saved = await readFile(path);
        await writeFile(path, GARBAGE);
        return () => writeFile(path, saved);
      },
    ],
    [
      'the state dir (deleted)',
      async (id) => nothingToRestore(await rm(join(store, 'containers', env.namespace, id), { recursive: true, force: true })),
    ],
  ];

  for (const [what, damage] of damages) {
    it(`${what}: rm -f leaves the baseline; the name and port work again`, async () => {
      const id = await ok(['run', '-d', '--name', NAME, '--net', NET, '-p', `127.0.0.1:${PORT}:80`, ...httpd('before')]);
      assert.equal(await get(PORT), 'before');
      const restore = await damage(id);
      await ok(['rm', '-f', NAME]);
      await restore();
      assert.deepEqual(await waitForHostState(env, scope, baseline), [], `after rm -f with a damaged ${what}`);

      await ok(['run', '-d', '--name', NAME, '--net', NET, '-p', `127.0.0.1:${PORT}:80`, ...httpd('after')]);
      assert.equal(await get(PORT), 'after');
      await ok(['rm', '-f', NAME]);
      assert.deepEqual(await waitForHostState(env, scope, baseline), []);
    });
  }
});

function nothingToRestore(_: unknown): () => Promise<void> {
  return async () => undefined;
}
