import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { startEnv, type TestEnv } from '../harness.ts';

const NET = 't-infra-net';
const BRIDGE = 't-infra-br0';
const NETNS = 't-infra-leftovers';
const ID = 'a'.repeat(64);

/** Runs one CNI plugin the way a runtime does. */
async function cni(env: TestEnv, plugin: Record<string, unknown>, cniId: string): Promise<Record<string, unknown>> {
  const result = await execa(join(env.cniPath, String(plugin['type'])), [], {
    input: JSON.stringify({ cniVersion: '1.0.0', name: NET, ...plugin }),
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: cniId, CNI_NETNS: `/var/run/netns/${NETNS}`, CNI_IFNAME: 'eth0', CNI_PATH: env.cniPath },
    reject: false,
  });
  assert.equal(result.exitCode, 0, `${String(plugin['type'])} ADD: ${result.stdout}${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

describe('stop() after a test that never detached its container', { timeout: 120_000 }, () => {
  let env: TestEnv;
  let cniId: string;
  before(async () => {
    env = await startEnv('t-infra-leftovers');
    cniId = `${env.namespace}-${ID}`;
    await execa('ip', ['netns', 'add', NETNS]);
  });
  after(async () => {
    await execa('ip', ['netns', 'del', NETNS], { reject: false });
    await env.stop();
  });

  it('removes its iptables rules and chains, IP allocation, cached result and bridge', async () => {
    const bridge = { type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.213.77.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] } };
    await writeFile(join(env.netconfPath, `${NET}.conflist`), JSON.stringify({ cniVersion: '1.0.0', name: NET, plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true } }] }));
    await mkdir(join(env.dataRoot, '01234567', 'containers', env.namespace, ID), { recursive: true });
    const added = await cni(env, bridge, cniId);
    await cni(env, { type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 18213, containerPort: 80, protocol: 'tcp' }] }, prevResult: added }, cniId);
    const cacheFile = `/var/lib/cni/results/${NET}-${cniId}-eth0`;
    await mkdir('/var/lib/cni/results', { recursive: true });
    await writeFile(cacheFile, JSON.stringify({ kind: 'cniCacheV1', containerId: cniId }));
    const nat = async () => (await execa('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
    const before = await nat();
    const chains = before.split('\n').filter((l) => l.includes(cniId)).map((l) => / -j (CNI-\S+)/.exec(l)?.[1]).filter((c) => c !== undefined);
    assert.equal(chains.length, 2, before); // bridge ipMasq and portmap DNAT
    const ip = ((added['ips'] as { address: string }[])[0]?.address ?? '').split('/')[0];
    const allocation = `/var/lib/cni/networks/${NET}/${ip}`;
    assert.ok(existsSync(allocation), allocation);
    // the test "crashes" here: its netns goes away without a CNI DEL
    await execa('ip', ['netns', 'del', NETNS]);

    await env.stop();

    const after = await nat();
    assert.doesNotMatch(after, new RegExp(cniId));
    for (const chain of chains) assert.doesNotMatch(after, new RegExp(`^-N ${chain}$`, 'm'));
    assert.equal(existsSync(allocation), false);
    assert.equal(existsSync(cacheFile), false);
    assert.equal((await execa('ip', ['link', 'show', BRIDGE], { reject: false })).exitCode, 1);
  });
});
