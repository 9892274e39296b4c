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
import { execa } from 'execa';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { httpGet, ok, removeAllContainers } from '../helpers.ts';

const NET = 'rl-net';
const PORT = 49010;

/** Every rule of the host (nat and filter) that is the container's: names its CNI ID, its address, or a chain that does. */
async function rulesOf(cniId: string, ip: string): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['nat', 'filter']) {
    const lines = (await execa('iptables', ['-w', '-t', table, '-S'])).stdout.split('\n');
    const chains = new Set<string>();
    for (const l of lines) {
      if (!l.startsWith('-A ') || !l.includes(cniId)) continue;
      for (const c of [l.split(' ')[1], / -j (\S+)/.exec(l)?.[1]]) if (c && /^CNI-(DN-)?[0-9a-f]{20,}$/.test(c)) chains.add(c);
    }
    for (const l of lines) {
      const chain = l.split(' ')[1] ?? '';
      if (l.includes(cniId) || l.includes(`${ip}/32`) || l.includes(`${ip}:`) || chains.has(chain)) out.push(`${table} ${l}`);
    }
  }
  return out.sort();
}

/** What a flush does to the container: each of its rules deleted, then its own chains. */
async function flushOf(rules: readonly string[]): Promise<void> {
  for (const table of ['nat', 'filter']) {
    const mine = rules.filter((r) => r.startsWith(`${table} `)).map((r) => r.slice(table.length + 1));
    const deletes = mine.filter((l) => l.startsWith('-A ')).map((l) => `-D${l.slice(2)}`);
    const chains = mine.filter((l) => l.startsWith('-N ')).map((l) => `-X${l.slice(2)}`);
    await execa('iptables-restore', ['--noflush', '--wait'], { input: [`*${table}`, ...deletes, ...chains, 'COMMIT', ''].join('\n') });
  }
}

describe('network reload (e2e)', { timeout: 300_000 }, () => {
  let env: TestEnv;

  before(async () => {
    env = await startEnv('rl-reload');
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
