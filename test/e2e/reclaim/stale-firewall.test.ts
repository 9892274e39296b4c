/**
 * The firewall plugin's per-address rules in CNI-FORWARD (`-d IP -m conntrack … -j ACCEPT`,
 * `-s IP -j ACCEPT`) carry no comment naming their container: a rule left stale for an address
 * (a DEL whose failure the plugin ignored, a kill, another tool) is found by address only. Here
 * one is planted by hand, as such a failure leaves it:
 * - for the address the next container gets: its start must not double it (the plugin appends a
 *   rule only where none is; tsnerd's restore appended blindly), and its `rm -f` must leave none
 *   (with the old restore one copy stayed: a leaked rule);
 * - for addresses nobody holds and as a second copy of a running container's rules: `network gc`
 *   lists and removes them, and keeps those of addresses outside tsnerd's networks and of an
 *   address another tool's host-local lease holds;
 * - for an address nobody holds, then a reboot: the first start after it removes them (the hook's
 *   reconciler), as it DELs the attachments of the tasks that died.
 * Resources: names gf-*, network gf-net in 10.241.1.0/24 (10.241.200.0/24 stands for another
 * tool's network, on no conflist of the env), no host port.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { closeEnv, importTestImage, ipOf, ok, removeAfter, secondGcFindsNothing, startEnv, type TestEnv } from '../harness.ts';
import { simulateReboot } from '../reboot.ts';

const NET = 'gf-net';
const SUBNET = '10.241.1.0/24';
/** An address of no network of the env's: another tool's container. */
const OUTSIDE = '10.241.200.9';
/** A host-local lease of another tool (its network is no conflist of the env's), in the env's subnet. */
const FOREIGN_NET_DIR = '/var/lib/cni/networks/gf-foreign';
const FOREIGN_LEASED = '10.241.1.70';

/** The plugin's two rules of an address, as `iptables -S` prints them. */
const pluginRules = (ip: string) => [
  `-A CNI-FORWARD -d ${ip}/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  `-A CNI-FORWARD -s ${ip}/32 -j ACCEPT`,
];

/** How many copies of each of the plugin's two rules of `ip` CNI-FORWARD holds. */
async function copies(ip: string): Promise<[number, number]> {
  const listed = (await execa('iptables', ['-w', '-t', 'filter', '-S', 'CNI-FORWARD'])).stdout.split('\n');
  const [d, s] = pluginRules(ip);
  return [listed.filter((l) => l === d).length, listed.filter((l) => l === s).length];
}

/** What a failed DEL leaves: the plugin's two rules of `ip`, appended by hand. */
async function plant(ip: string): Promise<void> {
  await execa('iptables-restore', ['--noflush', '--wait'], { input: ['*filter', ...pluginRules(ip), 'COMMIT', ''].join('\n') });
}

/** Deletes every copy of the plugin's rules of `ip` (what the test planted and gc is not to take). */
async function unplant(ip: string): Promise<void> {
  const [d, s] = await copies(ip);
  const [dr, sr] = pluginRules(ip).map((r) => `-D${r.slice(2)}`);
  const lines = [...Array.from({ length: d }, () => dr!), ...Array.from({ length: s }, () => sr!)];
  if (lines.length > 0) await execa('iptables-restore', ['--noflush', '--wait'], { input: ['*filter', ...lines, 'COMMIT', ''].join('\n') });
}

describe('stale firewall plugin rules', { timeout: 300_000 }, () => {
  let env: TestEnv;

  before(async () => {
    env = await startEnv('gf-stale');
    await importTestImage(env);
    await ok(env, ['network', 'create', NET, '--subnet', SUBNET]);
    // The bridge's first container: the plugin itself makes the chains every container shares.
    await ok(env, ['run', '-d', '--name', 'gf-first', '--net', NET, 'busybox', 'sleep', '600']);
  });
  after(async () => {
    await unplant(OUTSIDE);
    await unplant(FOREIGN_LEASED);
    await rm(FOREIGN_NET_DIR, { recursive: true, force: true });
    await closeEnv(env, [NET]);
  });

  it('a stale rule of the address a container gets is not doubled, and its rm -f leaves none', async (t) => {
    removeAfter(t, env, { containers: ['gf-next'] });
    const ip = '10.241.1.50';
    await plant(ip);
    assert.deepEqual(await copies(ip), [1, 1]);
    await ok(env, ['run', '-d', '--name', 'gf-next', '--net', NET, '--ip', ip, 'busybox', 'sleep', '600']);
    assert.equal(await ipOf(env, 'gf-next', NET), ip);
    assert.deepEqual(await copies(ip), [1, 1], 'the start doubled the stale rules');
    await ok(env, ['rm', '-f', 'gf-next']);
    assert.deepEqual(await copies(ip), [0, 0], 'rm -f left a rule of the address');
  });

  it('two stale copies are both taken by the start', async (t) => {
    removeAfter(t, env, { containers: ['gf-next2'] });
    const ip = '10.241.1.51';
    await plant(ip);
    await plant(ip);
    await ok(env, ['run', '-d', '--name', 'gf-next2', '--net', NET, '--ip', ip, 'busybox', 'sleep', '600']);
    assert.deepEqual(await copies(ip), [1, 1]);
    await ok(env, ['rm', '-f', 'gf-next2']);
    assert.deepEqual(await copies(ip), [0, 0]);
  });

  it('network gc removes rules of addresses nobody holds and second copies, and keeps others', async () => {
    const held = await ipOf(env, 'gf-first', NET);
    const stale = '10.241.1.60';
    await plant(stale);
    await plant(stale);
    await plant(held);
    await plant(OUTSIDE);
    await mkdir(FOREIGN_NET_DIR, { recursive: true });
    await writeFile(`${FOREIGN_NET_DIR}/${FOREIGN_LEASED}`, `${'f'.repeat(64)}\r\neth0`);
    await plant(FOREIGN_LEASED);

    const listed = (await ok(env, ['network', 'gc', '--dry-run', '--format', 'json']))
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as { Kind: string; Item: string; Container: string });
    assert.deepEqual(
      listed
        .filter((i) => i.Kind === 'iptables-rules')
        .map((i) => i.Item)
        .sort(),
      [`2 in filter CNI-FORWARD for ${held} (second copies)`, `4 in filter CNI-FORWARD for ${stale} (no holder)`].sort(),
    );
    assert.deepEqual(await copies(stale), [2, 2], 'gc --dry-run removed a rule');
    assert.deepEqual(await copies(held), [2, 2], 'gc --dry-run removed a rule');

    const out = await ok(env, ['network', 'gc']);
    assert.match(out, new RegExp(`iptables-rules +4 in filter CNI-FORWARD for ${stale.replaceAll('.', '\\.')} \\(no holder\\)`));
    assert.deepEqual(await copies(stale), [0, 0]);
    assert.deepEqual(await copies(held), [1, 1], 'the running container lost its rules');
    assert.deepEqual(await copies(OUTSIDE), [1, 1], 'a rule outside tsnerd’s networks was taken');
    assert.deepEqual(await copies(FOREIGN_LEASED), [1, 1], 'a rule of an address another tool leases was taken');
    await secondGcFindsNothing(env);
  });

  it('the first start after a reboot removes rules of addresses nobody holds', async (t) => {
    removeAfter(t, env, { containers: ['gf-after'] });
    t.after(() => ok(env, ['start', 'gf-first'])); // the reboot killed it; the other tests want it running
    const stale = '10.241.1.80';
    const first = await ipOf(env, 'gf-first', NET);
    await plant(stale);
    await simulateReboot(env);
    assert.deepEqual(await copies(stale), [1, 1]);
    await ok(env, ['run', '-d', '--name', 'gf-after', '--net', NET, 'busybox', 'sleep', '600']);
    assert.deepEqual(await copies(stale), [0, 0], 'the first start after the reboot left them');
    assert.deepEqual(await copies(first), [0, 0], 'the dead task’s rules stayed');
    assert.deepEqual(await copies(await ipOf(env, 'gf-after', NET)), [1, 1]);
  });
});
