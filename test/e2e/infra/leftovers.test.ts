/**
 * The harness's leak report: stop() fails naming each object an env's tests left on the
 * host, removes it afterwards, and never reports or touches what is not the env's.
 * Resources: names hn-leak-*, subnets 10.210.1.0/24 and 10.210.77.0/24, host port 39000.
 * Each test calls stop() itself and asserts its outcome, so its t.after only makes sure.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { deleteBridge } from '../helpers.ts';
import { LeftoversError, startEnv, type TestEnv } from '../harness.ts';

const HOST_LOCAL = '/var/lib/cni/networks';
const ID = 'a'.repeat(64);

/** An env whose stop() this test awaits itself; t.after still stops it if the test failed first. */
async function env(t: TestContext, name: string): Promise<TestEnv> {
  const e = await startEnv(name);
  t.after(() => e.stop().catch(() => {}));
  return e;
}

/** stop()'s report, or [] if it resolved. */
async function reported(e: TestEnv): Promise<string[]> {
  try {
    await e.stop();
    return [];
  } catch (err) {
    assert.ok(err instanceof LeftoversError, String(err));
    assert.match(
      err.message,
      new RegExp(`^test env hn-leak-\\w+ left ${err.leftovers.length} object\\(s\\) on the host \\(removed now\\):\\n  - `),
    );
    return [...err.leftovers];
  }
}

/** Runs one CNI plugin the way a runtime does. */
async function cni(
  e: TestEnv,
  net: string,
  netns: string,
  plugin: Record<string, unknown>,
  cniId: string,
): Promise<Record<string, unknown>> {
  const result = await execa(join(e.cniPath, String(plugin['type'])), [], {
    input: JSON.stringify({ cniVersion: '1.0.0', name: net, ...plugin }),
    env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: cniId, CNI_NETNS: `/var/run/netns/${netns}`, CNI_IFNAME: 'eth0', CNI_PATH: e.cniPath },
    reject: false,
  });
  assert.equal(result.exitCode, 0, `${String(plugin['type'])} ADD: ${result.stdout}${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

const conflist = (name: string, plugins: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: '1.0.0', name, ...extra, plugins });

describe('the harness reports leftovers', { timeout: 180_000 }, () => {
  it('a clean env stops without a report', async (t) => {
    const e = await env(t, 'hn-leak-clean');
    assert.deepEqual(await reported(e), []);
  });

  it('names a leaked host-local IP allocation in its own network, and removes it after', async (t) => {
    const e = await env(t, 'hn-leak-ip');
    const net = 'hn-leak-ipnet';
    t.after(() => rm(join(HOST_LOCAL, net), { recursive: true, force: true }));
    await writeFile(
      join(e.netconfPath, `${net}.conflist`),
      conflist(net, [{ type: 'bridge', bridge: 'hn-leak-br1', ipam: { type: 'host-local', ranges: [[{ subnet: '10.210.1.0/24' }]] } }]),
    );
    // what host-local writes for an address, but no DEL ever came: the allocation leaked
    await mkdir(join(HOST_LOCAL, net), { recursive: true });
    const allocation = join(HOST_LOCAL, net, '10.210.1.5');
    await writeFile(allocation, `${e.namespace}-${ID}\neth0`);
    await writeFile(join(HOST_LOCAL, net, 'last_reserved_ip.0'), '10.210.1.5');

    assert.deepEqual(await reported(e), [`IP allocation: ${allocation} (owner ${e.namespace}-${ID})`]);
    assert.equal(existsSync(allocation), false, 'removed after the report');
  });

  it('names iptables rules, an IP allocation, a cache entry and a bridge of a container that was never detached', async (t) => {
    const e = await env(t, 'hn-leak-cni');
    const [net, bridgeName, netns] = ['hn-leak-net', 'hn-leak-br0', 'hn-leak-ns'];
    const cniId = `${e.namespace}-${ID}`;
    const cacheFile = `/var/lib/cni/results/${net}-${cniId}-eth0`;
    t.after(async () => {
      await execa('ip', ['netns', 'del', netns], { reject: false });
      await deleteBridge(bridgeName);
      await rm(join(HOST_LOCAL, net), { recursive: true, force: true });
      await rm(cacheFile, { force: true });
    });
    await execa('ip', ['netns', 'add', netns]);
    const bridge = {
      type: 'bridge',
      bridge: bridgeName,
      isGateway: true,
      ipMasq: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.210.77.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
    };
    const portmap = { type: 'portmap', capabilities: { portMappings: true } };
    await writeFile(join(e.netconfPath, `${net}.conflist`), conflist(net, [bridge, portmap]));
    const added = await cni(e, net, netns, bridge, cniId);
    await cni(
      e,
      net,
      netns,
      { ...portmap, runtimeConfig: { portMappings: [{ hostPort: 39000, containerPort: 80, protocol: 'tcp' }] }, prevResult: added },
      cniId,
    );
    await mkdir('/var/lib/cni/results', { recursive: true });
    await writeFile(cacheFile, JSON.stringify({ kind: 'cniCacheV1', containerId: cniId }));
    const nat = async () => (await execa('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
    const rules = (await nat()).split('\n').filter((l) => l.startsWith('-A ') && l.includes(cniId));
    const chains = rules.map((l) => / -j (CNI-\S+)/.exec(l)?.[1]).filter((c) => c !== undefined);
    assert.equal(chains.length, 2, rules.join('\n')); // bridge ipMasq and portmap DNAT
    const ip = ((added['ips'] as { address: string }[])[0]?.address ?? '').split('/')[0];
    const allocation = join(HOST_LOCAL, net, ip!);
    assert.ok(existsSync(allocation), allocation);
    // the test "crashes" here: its netns goes away without a CNI DEL
    await execa('ip', ['netns', 'del', netns]);

    const report = await reported(e);
    const ruleLines = (await execa('iptables', ['-w', '-t', 'nat', '-S'])).stdout; // after the removal
    for (const rule of rules) assert.ok(report.includes(`iptables -t nat rule: ${rule}`), `${rule} in\n${report.join('\n')}`);
    assert.ok(report.includes(`IP allocation: ${allocation} (owner ${cniId})`), report.join('\n'));
    assert.ok(report.includes(`CNI cache entry: ${cacheFile}`), report.join('\n'));
    assert.ok(report.includes(`bridge: ${bridgeName} of network ${net}`), report.join('\n'));

    assert.doesNotMatch(ruleLines, new RegExp(cniId));
    for (const chain of chains) assert.doesNotMatch(ruleLines, new RegExp(`^-N ${chain}$`, 'm'));
    assert.equal(existsSync(allocation), false);
    assert.equal(existsSync(cacheFile), false);
    assert.equal((await execa('ip', ['link', 'show', bridgeName], { reject: false })).exitCode, 1);
  });

  it("neither reports nor touches what is not the env's: other owners' allocations, the default network's bridge", async (t) => {
    const e = await env(t, 'hn-leak-foreign');
    const [foreignNet, dfltBridge] = ['hn-leak-foreign', 'hn-leak-dflt0'];
    t.after(async () => {
      await rm(join(HOST_LOCAL, foreignNet), { recursive: true, force: true });
      await execa('ip', ['link', 'del', dfltBridge], { reject: false });
    });
    // another run's container on a network this env does not define
    const foreign = join(HOST_LOCAL, foreignNet, '10.210.2.5');
    await mkdir(join(HOST_LOCAL, foreignNet), { recursive: true });
    await writeFile(foreign, `hn-leak-other-${ID}\neth0`);
    // the default network: its bridge is shared with every other user (nerdctl0 on a host)
    await writeFile(
      join(e.netconfPath, 'nerdctl-bridge.conflist'),
      conflist('bridge', [{ type: 'bridge', bridge: dfltBridge, ipam: { type: 'host-local', ranges: [[{ subnet: '10.210.3.0/24' }]] } }], {
        nerdctlLabels: { 'nerdctl/default-network': 'true' },
      }),
    );
    await execa('ip', ['link', 'add', dfltBridge, 'type', 'bridge']);

    assert.deepEqual(await reported(e), []);
    assert.ok(existsSync(foreign));
    assert.equal((await execa('ip', ['link', 'show', dfltBridge], { reject: false })).exitCode, 0);
  });
});
