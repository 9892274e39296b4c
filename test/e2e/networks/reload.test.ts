/**
 * `network reload`: after something removed a running container's firewall rules (a firewall
 * service's reload, `iptables -F`), the rules come back exactly as its ADD made them (the bridge
 * plugin's masquerade chain, portmap's forwards, the firewall plugin's accepts), and its published
 * port answers again; rules that are intact are left as they are (a second reload changes
 * nothing). The "flush" removes only this file's container's rules, never the host's others.
 * Env rl-reload, network rl-net 10.254.1.0/24, host port 49010.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { flushOf, httpGet, ok, removeAllContainers, rulesOf } from '../helpers.ts';

const NET = 'rl-net';
const PORT = 49010;

describe('network reload (e2e)', { timeout: 300_000 }, () => {
  let env: TestEnv;

  before(async () => {
    env = await startEnv('rl-reload');
    // the port holder's own reload (its forward check) would race this file's flush and manual reload
    env.env['TSNERD_PORTHOLDER_FORWARD_CHECK_MS'] = '0';
    await importTestImage(env);
    await ok(env, ['network', 'create', NET, '--subnet', '10.254.1.0/24']);
  });
  after(async () => {
    if (!env) return;
    await removeAllContainers(env);
    await tsnerd(env, ['network', 'rm', NET]);
    await env.stop();
  });

  it('puts back the rules a flush took, exactly, and the published port answers again', async () => {
    await ok(env, ['run', '-d', '--name', 'rl-web', '--net', NET, '-p', `127.0.0.1:${PORT}:80`, 'busybox', 'httpd', '-f', '-p', '80']);
    await ok(env, ['run', '-d', '--name', 'rl-idle', '--net', 'none', 'busybox', 'sleep', '600']);
    const [info] = JSON.parse(await ok(env, ['inspect', 'rl-web'])) as { Id: string; NetworkSettings: { IPAddress: string } }[];
    const cniId = `${env.namespace}-${info!.Id}`;
    const ip = info!.NetworkSettings.IPAddress;
    await httpGet(`http://127.0.0.1:${PORT}/`);
    const made = await rulesOf(cniId, ip);
    // the masquerade chain and its jump, the port's DNAT chain and its jump, the firewall's two accepts
    assert.ok(made.filter((r) => r.includes(' -j MASQUERADE')).length >= 1, made.join('\n'));
    assert.ok(
      made.some((r) => r.includes(`--to-destination ${ip}:80`)),
      made.join('\n'),
    );
    assert.ok(
      made.some((r) => r.startsWith(`filter -A CNI-FORWARD -s ${ip}/32`)),
      made.join('\n'),
    );

    await flushOf(made);
    assert.deepEqual(await rulesOf(cniId, ip), [], 'the flush took them');
    await assert.rejects(fetch(`http://127.0.0.1:${PORT}/`, { signal: AbortSignal.timeout(1500) }));

    assert.equal(await ok(env, ['network', 'reload', 'rl-web']), info!.Id);
    assert.deepEqual(await rulesOf(cniId, ip), made, 'the same rules, once each');
    await httpGet(`http://127.0.0.1:${PORT}/`);

    // Intact rules stay as they are; --all takes every running container (one on none has no rules).
    const all = (await ok(env, ['network', 'reload', '--all'])).split('\n').sort();
    const idle = JSON.parse(await ok(env, ['inspect', 'rl-idle'])) as { Id: string }[];
    assert.deepEqual(all, [info!.Id, idle[0]!.Id].sort());
    assert.deepEqual(await rulesOf(cniId, ip), made);
  });

  it('refuses what it cannot reload, naming it, with usage errors for bad arguments', async () => {
    await ok(env, ['create', '--name', 'rl-created', '--net', NET, 'busybox', 'sleep', '600']);
    const stopped = await tsnerd(env, ['network', 'reload', 'rl-created']);
    assert.equal(stopped.exitCode, 1);
    assert.match(stopped.stderr, /container rl-created is not running/);
    const missing = await tsnerd(env, ['network', 'reload', 'rl-nope']);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /rl-nope/);
    for (const args of [[], ['--all', 'rl-created']]) {
      const r = await tsnerd(env, ['network', 'reload', ...args]);
      assert.equal(r.exitCode, 2, r.stderr);
      assert.match(r.stderr, /give container names or IDs, or --all/);
    }
  });
});
