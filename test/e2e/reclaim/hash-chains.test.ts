/**
 * The per-container chains the CNI plugins name after a hash of (network, CNI container ID):
 * the bridge plugin's masquerade chain CNI-<hash>, portmap's CNI-DN-<hash> and its old SNAT
 * chain CNI-SN-<hash>, which portmap's DEL creates in order to flush and delete it. A DEL or ADD
 * killed in between leaves one empty: no rule names its container. Here such chains are made
 * for real containers of tsnerd's (what the kill leaves), and `rm -f` and `network gc` remove
 * them; the same-shaped chains of IDs that are not tsnerd's containers are kept.
 * The real case too: portmap killed with -9 in its DEL (an iptables wrapper first in its PATH).
 * Resources: names hc-*, network hc-chains in 10.203.0.0/24, host ports 46000-46009.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { findCniLeftovers } from '../cni-leftovers.ts';
import { inspectContainer, waitFor } from '../helpers.ts';

const NET = 'hc-chains';
const PORT = 46000;
const RESULTS = '/var/lib/cni/results';

/** The plugins' name, computed here on its own: "CNI-" + prefix + hex SHA-512 of network + ID, 28 characters. */
const chainName = (network: string, cniId: string, prefix: '' | 'DN-' | 'SN-') =>
  `CNI-${prefix}${createHash('sha512')
    .update(network + cniId)
    .digest('hex')}`.slice(0, 28);
const allThree = (network: string, cniId: string) => (['', 'DN-', 'SN-'] as const).map((p) => chainName(network, cniId, p));

async function script(path: string, body: readonly string[]): Promise<void> {
  await writeFile(path, ['#!/bin/sh', ...body, ''].join('\n'));
  await chmod(path, 0o755);
}

async function natChains(tool = 'iptables'): Promise<Set<string>> {
  const listed = await execa(tool, ['-w', '-t', 'nat', '-S']);
  return new Set(
    listed.stdout
      .split('\n')
      .filter((l) => l.startsWith('-N '))
      .map((l) => l.slice(3)),
  );
}

/** Creates empty nat chains, as a plugin killed after its NewChain (or portmap's DEL after its ClearChain) leaves them. */
async function createChains(chains: readonly string[], tool = 'iptables'): Promise<void> {
  for (const c of chains) await execa(tool, ['-w', '-t', 'nat', '-N', c]);
}

async function deleteChains(chains: readonly string[], tool = 'iptables'): Promise<void> {
  for (const c of chains) {
    await execa(tool, ['-w', '-t', 'nat', '-F', c], { reject: false });
    await execa(tool, ['-w', '-t', 'nat', '-X', c], { reject: false });
  }
}

describe('per-container hash chains left empty', { timeout: 300_000 }, () => {
  let env: TestEnv;
  const ok = (args: string[]) => h.ok(env, args);
  /** The CNI container ID (`<namespace>-<id>`) of a container. */
  const cniIdOf = async (name: string) => `${env.namespace}-${(await inspectContainer(env, name)).Id}`;
  /** Chains of IDs that are no container of this env's: another tool's container on a network of the same name. */
  const foreign = [...allThree(NET, `other-${'f'.repeat(64)}`), ...allThree(NET, `default-${'e'.repeat(64)}`)];

  /**
   * The port holder's watcher sees a published container's exit too, and may DEL again (without
   * effect) under the CNI lock just after `stop` returns: waited for, so that it does not take the
   * cache entry a test writes back. Past its 0.5 s grace, the lock once free again.
   */
  const settled = async () => {
    await sleep(1500);
    await execa('flock', [join(env.netconfPath, '.cni-concurrency.lock'), 'true']);
  };

  before(async () => {
    env = await startEnv('hc-chains');
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', '10.203.0.0/24']);
  });
  after(async () => {
    await deleteChains(foreign);
    if (!env) return;
    await tsnerd(env, ['rm', '-f', 'hc-gc', 'hc-rm', 'hc-kill']);
    await tsnerd(env, ['network', 'rm', NET]);
    await env.stop();
  });

  it('network gc removes the empty chains of a stopped container, lists them, and keeps a foreign ID’s', async () => {
    await ok(['run', '-d', '--name', 'hc-gc', '--net', NET, '-p', `127.0.0.1:${PORT}:80`, 'busybox', 'sleep', '600']);
    const cniId = await cniIdOf('hc-gc');
    await ok(['stop', '-t', '1', 'hc-gc']);
    const mine = allThree(NET, cniId);
    const before = await natChains();
    assert.deepEqual(
      mine.filter((c) => before.has(c)),
      [],
      'a clean stop left a chain',
    );
    // What a postStop DEL killed inside portmap, and an ADD killed inside the bridge plugin, leave.
    await createChains([...mine, ...foreign]);
    await createChains([mine[0]!], 'ip6tables');

    const dry = await ok(['network', 'gc', '--dry-run', '--format', 'json']);
    const listed = dry
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as { Kind: string; Item: string; Container: string });
    const chainsListed = listed.filter((i) => i.Kind === 'iptables-chain');
    assert.deepEqual(
      chainsListed.map((i) => i.Item).sort(),
      [...mine.map((c) => `nat ${c} (${NET})`), `ip6 nat ${mine[0]!} (${NET})`].sort(),
    );
    assert.ok(
      chainsListed.every((i) => i.Container === cniId.slice(env.namespace.length + 1, env.namespace.length + 13)),
      dry,
    );
    const present = await natChains();
    assert.ok(
      [...mine, ...foreign].every((c) => present.has(c)),
      'gc --dry-run removed a chain',
    );

    const removed = await ok(['network', 'gc']);
    for (const c of mine) assert.match(removed, new RegExp(`iptables-chain +nat ${c} \\(${NET}\\)`));
    const left = await natChains();
    assert.deepEqual(
      mine.filter((c) => left.has(c)),
      [],
    );
    assert.ok(!(await natChains('ip6tables')).has(mine[0]!), 'the IPv6 chain stayed');
    assert.deepEqual(
      foreign.filter((c) => !left.has(c)),
      [],
      'a foreign chain was removed',
    );
    await h.secondGcFindsNothing(env);
    await ok(['rm', 'hc-gc']);
  });

  it('rm -f after an ADD cut short in the bridge plugin (no result cached) removes its empty masquerade chain', async () => {
    await ok(['run', '-d', '--name', 'hc-rm', '--net', NET, '-p', `127.0.0.1:${PORT + 1}:80`, 'busybox', 'sleep', '600']);
    const cniId = await cniIdOf('hc-rm');
    const entryFile = (await readdir(RESULTS)).find((f) => f.startsWith(`${NET}-${cniId}-`));
    assert.ok(entryFile, `no cache entry of ${cniId}`);
    const entry = JSON.parse(await readFile(join(RESULTS, entryFile), 'utf8')) as Record<string, unknown>;
    await ok(['stop', '-t', '1', 'hc-rm']);
    await settled();
    // The entry libcni writes before the first plugin runs, with no result: an ADD killed inside the
    // bridge plugin, right after it created the masquerade chain; and a DEL killed in portmap's teardown.
    delete entry['result'];
    await writeFile(join(RESULTS, entryFile), JSON.stringify(entry));
    const mine = allThree(NET, cniId);
    const present = await natChains();
    await createChains([...mine, ...foreign.filter((c) => !present.has(c))]);

    await ok(['rm', '-f', 'hc-rm']);
    const left = await natChains();
    assert.deepEqual(
      mine.filter((c) => left.has(c)),
      [],
    );
    assert.deepEqual(
      foreign.filter((c) => !left.has(c)),
      [],
      'a foreign chain was removed',
    );
    assert.ok(!(await readdir(RESULTS)).includes(entryFile), 'rm -f left the cache entry');
  });

  it('portmap killed with -9 in its DEL between flushing its old SNAT chain and deleting it: the clean-up after the failed DEL removes the empty chain, rm -f the rest', async (t) => {
    // The real portmap, with an iptables first in its PATH that SIGKILLs it at `-X CNI-SN-…` while `kill-del` exists.
    const dir = join(env.dir, 'hc-plugins');
    await mkdir(join(dir, 'bin'), { recursive: true });
    const realIptables = (await execa('sh', ['-c', 'command -v iptables'])).stdout.trim();
    await script(join(dir, 'bin', 'iptables'), [
      `if [ -f ${dir}/kill-del ]; then case " $* " in *" -X CNI-SN-"*) echo >> ${dir}/killed; kill -9 $PPID; exit 1;; esac; fi`,
      `exec ${realIptables} "$@"`,
    ]);
    await script(join(dir, 'portmap'), [`PATH=${dir}/bin:$PATH exec ${env.cniPath}/portmap`]);
    const cniPath = env.env['CNI_PATH']!;
    env.env['CNI_PATH'] = `${dir}:${cniPath}`;
    t.after(() => {
      env.env['CNI_PATH'] = cniPath;
    });
    await ok(['run', '-d', '--name', 'hc-kill', '--net', NET, '-p', `127.0.0.1:${PORT + 2}:80`, 'busybox', 'sleep', '600']);
    const cniId = await cniIdOf('hc-kill');
    const sn = chainName(NET, cniId, 'SN-');
    // Every DEL is killed there while `kill-del` exists: stop's (in the netns it holds: the stop fails and
    // the chains stay), then the port holder's for the exit (without netns: the container is gone, so
    // its failure path removes the chains the killed DEL left, the empty CNI-SN among them).
    await writeFile(join(dir, 'kill-del'), '');
    await tsnerd(env, ['stop', '-t', '1', 'hc-kill']);
    await waitFor(
      "the port holder's DEL, killed too, and the chain gone",
      async () => (await readFile(join(dir, 'killed'), 'utf8').catch(() => '')).length >= 2 && !(await natChains()).has(sn),
      20_000,
      200,
    );
    await settled();
    assert.ok(
      (await readdir(RESULTS)).some((f) => f.includes(cniId)),
      'the cache entry of the killed DELs is gone (no DEL could run again)',
    );

    await rm(join(dir, 'kill-del'));
    await ok(['rm', '-f', 'hc-kill']);
    const left = await natChains();
    assert.deepEqual(
      allThree(NET, cniId).filter((c) => left.has(c)),
      [],
    );
    assert.equal((await readdir(RESULTS)).filter((f) => f.includes(cniId)).length, 0, 'rm -f left the cache entry');
  });

  it("the harness names an env container's empty chain as left behind, and removes it", async () => {
    const cniId = `${env.namespace}-${'d'.repeat(64)}`;
    const sn = chainName(NET, cniId, 'SN-');
    await createChains([sn]);
    try {
      const leftovers = await findCniLeftovers({
        cniIds: [cniId],
        ownNamespaces: [],
        netconfPath: env.netconfPath,
        networkNamesSeen: [NET],
      });
      assert.deepEqual(
        leftovers.found.filter((l) => l.includes(' chain ')),
        [`iptables -t nat chain ${sn} of container ${cniId} on network ${NET}`],
      );
      await leftovers.remove();
      assert.ok(!(await natChains()).has(sn));
    } finally {
      await deleteChains([sn]);
    }
  });
});
