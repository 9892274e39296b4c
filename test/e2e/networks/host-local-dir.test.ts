/**
 * host-local's dir of a network (`/var/lib/cni/networks/<name>/`, with its `lock` and
 * `last_reserved_ip.0` after the first container) goes with `network rm`, but only while it
 * holds no allocation. Before, every removed network left it for good. Env fix2, network
 * fyhl 10.239.200.0/24.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';

const NET = 'fyhl';
const DIR = join('/var/lib/cni/networks', NET);
/** An allocation no container of this env owns (another tool's container on a network of the same name). */
const FOREIGN_IP = join(DIR, '10.239.200.250');

describe("network rm and host-local's dir", { timeout: 300_000 }, () => {
  let env: TestEnv;
  let image: string;

  before(async () => {
    env = await startEnv('fix2');
    image = await importTestImage(env);
  });
  after(async () => {
    if (!env) return;
    await tsnerd(env, ['network', 'rm', '-f', NET]);
    await rm(DIR, { recursive: true, force: true });
    await env.stop();
  });

  it('removes the dir with the network once no IP file is left in it, and keeps it while one is', async () => {
    await h.ok(env, ['network', 'create', NET, '--subnet', '10.239.200.0/24']);
    await h.ok(env, ['run', '--rm', '--net', NET, image, 'true']);
    assert.deepEqual((await readdir(DIR)).sort(), ['last_reserved_ip.0', 'lock'], 'what host-local leaves after the last container');
    await writeFile(FOREIGN_IP, 'other-tool-container\r\neth0');
    await h.ok(env, ['network', 'rm', NET]);
    assert.ok(existsSync(FOREIGN_IP), 'a dir with an allocation in it is kept');

    await h.ok(env, ['network', 'create', NET, '--subnet', '10.239.200.0/24']);
    await rm(FOREIGN_IP);
    await h.ok(env, ['network', 'rm', NET]);
    assert.ok(!existsSync(DIR), `${DIR} outlived its network`);
  });
});
