/**
 * Kill points the fault suite and the chaos soak had not tried, each a kill -9 of the real
 * tsnerd process at a controlled moment (TSNERD_FAULT=<step>: the process SIGKILLs itself
 * there; the reaper of `run -d --rm` is killed by the test), then the documented recovery, and
 * the host exactly as before (test/e2e/host-state.ts, and the harness's leftover check):
 *
 * - the reaper of `run -d --rm` killed while the container runs; the container exits by itself:
 *   its ports and IP are freed at the exit (the port holder's watcher), it shows as exited, and
 *   the next `network gc` removes it (docs/compat.md);
 * - `network rm` killed after the conflist went, and after the bridge went but before its
 *   firewall isolation rules: the next `network gc` removes the bridge and the rules;
 * - `network reload` killed after the masquerade chain, and between portmap and firewall: a
 *   second reload leaves exactly one copy of each rule, and `rm -f` leaves nothing;
 * - `network connect` killed after the ADD, before the endpoint is recorded: the record says not
 *   connected, and the next connect (or `network gc`) releases the attachment first, so a connect
 *   again gives exactly one; `network disconnect` killed after its record, after tsnerd's
 *   masquerade chain went (before the plugins' DEL), after the firewall plugin's DEL done by
 *   tsnerd's iptables-restore (before the bridge's), and after its DEL (before the hosts entry):
 *   the next disconnect finishes it; `rm -f` leaves nothing.
 *
 * Env hk-kill, names hk-*, subnets in 10.206.0.0/16, host ports 46200-46399.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import {
  allocations,
  canBind,
  closeEnv,
  flushOf,
  httpGet,
  inspectContainer,
  linkExists,
  ok as okIn,
  processesWhere,
  rulesOf,
  waitFor,
} from '../helpers.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';
import { diffHostState, snapshotHostState, type HostState, type HostStateScope } from '../host-state.ts';

const NET = 'hk-net';
const NET2 = 'hk-net2';
const OCTET = 1 + 2 * Math.floor(Math.random() * 120);
const SUBNET = `10.206.${OCTET}.0/24`;
const SUBNET2 = `10.206.${OCTET + 1}.0/24`;
/** One block of ports per run of this file, so a leftover of an earlier run cannot pass for ours. */
const PORT = 46200 + 10 * Math.floor(Math.random() * 19);
const SCOPE: HostStateScope = { networks: [NET, NET2], ports: [46200, 46399] };

let env: TestEnv;
let baseline: HostState;
const ok = (args: string[]): Promise<string> => okIn(env, args);
/** A tsnerd command with TSNERD_FAULT=<step> (a CLI process of its own, which SIGKILLs itself there). */
const faulted = (step: string, args: string[]) => tsnerd({ ...env, env: { ...env.env, TSNERD_FAULT: step } }, args);
const httpd = (body: string) => ['busybox', 'sh', '-c', `echo ${body} > /tmp/index.html && exec httpd -f -p 80 -h /tmp`];

/** The host state against the baseline, given time for what settles (an exit the port holder handles). */
async function differences(timeoutMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = diffHostState(baseline, await snapshotHostState(env, SCOPE));
    if (d.length === 0 || Date.now() > deadline) return d;
    await sleep(250);
  }
}

/** The bridge of a network of the env, from its conflist. */
async function bridgeOf(net: string): Promise<string> {
  const text = await readFile(join(env.netconfPath, env.namespace, `nerdctl-${net}.conflist`), 'utf8');
  return (JSON.parse(text) as { plugins: { bridge: string }[] }).plugins[0]!.bridge;
}

/** The firewall plugin's isolation rules (CNI-ISOLATION-STAGE-1/2) that name `bridge`. */
async function isolationRulesOf(bridge: string): Promise<string[]> {
  const out: string[] = [];
  for (const chain of ['CNI-ISOLATION-STAGE-1', 'CNI-ISOLATION-STAGE-2']) {
    const listed = await execa('iptables', ['-w', '-t', 'filter', '-S', chain], { reject: false });
    for (const l of String(listed.stdout).split('\n')) if (new RegExp(`\\b${bridge}\\b`).test(l)) out.push(l);
  }
  return out;
}

/** Names and states `ps -a` lists. */
async function statuses(): Promise<Map<string, string>> {
  const out = await ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  return new Map(
    out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => [l.split(' ')[0]!, l.split(' ')[1] ?? ''] as [string, string]),
  );
}

describe('kill -9 at the points nobody tried yet', { timeout: 420_000 }, () => {
  before(async () => {
    env = await startEnv('hk-kill');
    // The port holder's own reload (its forward check) would race the reload tests' flush.
    env.env['TSNERD_PORTHOLDER_FORWARD_CHECK_MS'] = '0';
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', SUBNET]);
    await ok(['network', 'create', NET2, '--subnet', SUBNET2]);
    // The bridges appear with the first container and stay: part of the baseline.
    await ok(['run', '--rm', '--net', NET, 'busybox', 'true']);
    await ok(['run', '--rm', '--net', NET2, 'busybox', 'true']);
    baseline = await snapshotHostState(env, SCOPE);
  });

  after(async () => {
    await closeEnv(env, [NET, NET2]);
  });

  it('the reaper of run -d --rm killed while the container runs: freed at the exit, removed by network gc', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hk-reaped', 'hk-reaped2']));
    // One that publishes a port (the port holder holds it) and one that does not.
    const exits = ['sh', '-c', 'sleep 4'];
    const ids = [
      await ok(['run', '-d', '--rm', '--name', 'hk-reaped', '--net', NET, '-p', `${PORT}:80`, 'busybox', ...exits]),
      await ok(['run', '-d', '--rm', '--name', 'hk-reaped2', '--net', NET, 'busybox', ...exits]),
    ];
    const reapers = await waitFor(
      'the two reapers',
      async () => {
        const pids = await processesWhere((argv) => argv.includes('auto-remove') && ids.some((id) => argv.includes(id)));
        return pids.length === 2 ? pids : undefined;
      },
      10_000,
      100,
    );
    for (const pid of reapers) process.kill(pid, 'SIGKILL');
    assert.equal(await canBind('0.0.0.0', PORT), false, 'the port is held while the container runs');
    assert.equal((await allocations(NET)).length, 2);
    // The exit: network released by the port holder's watcher, within ~1 s.
    await waitFor('both exited', async () => [...(await statuses()).values()].filter((s) => s === 'Exited').length === 2, 20_000);
    await waitFor('their IPs released', async () => (await allocations(NET)).length === 0, 10_000).catch(() => {});
    assert.deepEqual(await allocations(NET), [], 'IPs released at the exit');
    await waitFor('the port free', () => canBind('0.0.0.0', PORT), 10_000).catch(() => {});
    assert.equal(await canBind('0.0.0.0', PORT), true, 'port freed at the exit');
    // Truthful while it waits for gc: listed as exited, inspect says it is to be removed.
    assert.equal((await statuses()).get('hk-reaped'), 'Exited');
    const [raw] = JSON.parse(await ok(['inspect', 'hk-reaped'])) as { HostConfig: { AutoRemove: boolean } }[];
    assert.equal(raw!.HostConfig.AutoRemove, true);
    const gc = await ok(['network', 'gc']);
    assert.match(gc, /hk-reaped\b/, `gc names what it removed:\n${gc}`);
    assert.deepEqual(
      [...(await statuses()).keys()].filter((n) => n.startsWith('hk-reaped')),
      [],
      'removed by network gc',
    );
    assert.deepEqual(await differences(), []);
  });

  it('create --rm, then start: removed at its exit, as after run -d --rm', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hk-created']));
    await ok(['create', '--rm', '--name', 'hk-created', '--net', NET, '-p', `${PORT + 2}:80`, 'busybox', 'sh', '-c', 'sleep 1']);
    await ok(['start', 'hk-created']);
    await waitFor('removed at its exit', async () => !(await statuses()).has('hk-created'), 20_000, 250);
    assert.deepEqual(await differences(), []);
  });

  it("the port holder's exit command killed after its DEL: run again, the exited container's port and IP are freed", async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hk-exit']));
    const once = join(env.dir, 'hk-exit-fired');
    const faultEnv = { ...env, env: { ...env.env, TSNERD_FAULT: 'exited-deleted', TSNERD_FAULT_ONCE: once } };
    const run = await tsnerd(faultEnv, [
      'run',
      '-d',
      '--name',
      'hk-exit',
      '--net',
      NET,
      '-p',
      `${PORT + 3}:80`,
      'busybox',
      'sh',
      '-c',
      'sleep 1',
    ]);
    assert.equal(run.exitCode, 0, run.stderr);
    await waitFor('the exit command killed once', () => existsSync(once), 20_000, 100);
    await waitFor('the port free', () => canBind('0.0.0.0', PORT + 3), 15_000, 250).catch(() => {});
    assert.equal(await canBind('0.0.0.0', PORT + 3), true, 'the port of the exited container is free');
    assert.deepEqual(await allocations(NET), [], 'its IP released');
    assert.equal((await statuses()).get('hk-exit'), 'Exited');
    await ok(['rm', 'hk-exit']);
    assert.deepEqual(await differences(), []);
  });

  for (const step of ['network-conf-removed', 'network-bridge-deleted']) {
    it(`network rm killed at ${step}: network gc removes the bridge and its isolation rules`, async (t) => {
      const net = 'hk-gone';
      t.after(async () => {
        await tsnerd(env, ['network', 'rm', net]);
        await tsnerd(env, ['network', 'gc']);
      });
      await ok(['network', 'create', net, '--subnet', `10.207.${OCTET}.0/24`]);
      await ok(['run', '--rm', '--net', net, 'busybox', 'true']);
      const bridge = await bridgeOf(net);
      assert.equal(await linkExists(bridge), true);
      assert.equal((await isolationRulesOf(bridge)).length, 2, 'the firewall plugin made its two isolation rules');
      const r = await faulted(step, ['network', 'rm', net]);
      assert.notEqual(r.exitCode, 0, `the fault at ${step} did not fire`);
      // What the user sees: the network is gone.
      assert.doesNotMatch(await ok(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`^${net}$`, 'm'));
      assert.equal(await linkExists(bridge), step === 'network-conf-removed');
      assert.equal((await isolationRulesOf(bridge)).length, 2, 'killed before the rules went');
      const gc = await ok(['network', 'gc']);
      assert.match(gc, new RegExp(bridge), `gc names the bridge:\n${gc}`);
      assert.equal(await linkExists(bridge), false);
      assert.deepEqual(await isolationRulesOf(bridge), []);
      assert.deepEqual(await differences(), []);
    });
  }

  it('network create killed after its bridge record, before the conflist: not listed, created again, gc forgets the record', async (t) => {
    const net = 'hk-half';
    t.after(async () => {
      await tsnerd(env, ['network', 'rm', net]);
      await tsnerd(env, ['network', 'gc']);
    });
    const subnet = `10.208.${OCTET}.0/24`;
    const r = await faulted('network-recorded', ['network', 'create', net, '--subnet', subnet]);
    assert.notEqual(r.exitCode, 0, 'the fault at network-recorded did not fire');
    assert.doesNotMatch(await ok(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`^${net}$`, 'm'));
    const records = join(new StoreLayout(env.dataRoot, env.address).root, 'bridges.json');
    const recorded = async () => (await readFile(records, 'utf8').catch(() => '')).includes(`nerdctl-${net}.conflist`);
    assert.equal(await recorded(), true, 'the bridge record is there');
    // gc forgets a record whose conflist never came and whose bridge does not exist.
    await ok(['network', 'gc']);
    assert.equal(await recorded(), false, 'gc forgot the record');
    // The name is free: created again, used, removed, nothing left.
    await ok(['network', 'create', net, '--subnet', subnet]);
    await ok(['run', '--rm', '--net', net, 'busybox', 'true']);
    const bridge = await bridgeOf(net);
    await ok(['network', 'rm', net]);
    assert.equal(await linkExists(bridge), false);
    assert.deepEqual(await isolationRulesOf(bridge), []);
    assert.deepEqual(await differences(), []);
  });

  it('network reload killed midway: a second reload leaves one copy of each rule, rm -f leaves nothing', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hk-rl']));
    await ok(['run', '-d', '--name', 'hk-rl', '--net', NET, '-p', `127.0.0.1:${PORT + 1}:80`, ...httpd('hk')]);
    const info = await inspectContainer(env, 'hk-rl');
    const cniId = `${env.namespace}-${info.Id}`;
    const ip = info.NetworkSettings.IPAddress;
    assert.equal((await httpGet(`http://127.0.0.1:${PORT + 1}/`)).trim(), 'hk');
    const made = await rulesOf(cniId, ip);
    assert.ok(made.length >= 5, made.join('\n'));
    for (const [step, flushed] of [
      ['reload-masq', true],
      ['reapplied-portmap', true],
      ['reapplied-firewall', true],
      ['reload-masq', false],
      ['reapplied-portmap', false],
    ] as const) {
      if (flushed) await flushOf(made);
      const r = await faulted(step, ['network', 'reload', 'hk-rl']);
      assert.notEqual(r.exitCode, 0, `the fault at ${step} did not fire`);
      assert.equal(await ok(['network', 'reload', 'hk-rl']), info.Id);
      assert.deepEqual(
        await rulesOf(cniId, ip),
        made,
        `after a reload killed at ${step}${flushed ? ' (rules flushed)' : ''}, then a reload`,
      );
    }
    assert.equal((await httpGet(`http://127.0.0.1:${PORT + 1}/`)).trim(), 'hk');
    await ok(['rm', '-f', 'hk-rl']);
    assert.deepEqual(await rulesOf(cniId, ip), []);
    assert.deepEqual(await differences(), []);
  });

  /** The networks inspect lists for a container, and whether its netns has eth1. */
  const seen = async (name: string) => ({
    listed: Object.keys((await inspectContainer(env, name)).NetworkSettings.Networks).sort(),
    eth1: /eth1/.test(await ok(['exec', name, 'ip', '-o', 'link'])),
  });
  const connected = { listed: [NET, NET2].sort(), eth1: true };
  const alone = { listed: [NET], eth1: false };

  for (const recovery of ['connect', 'gc'] as const) {
    it(`network connect killed after its ADD: the next ${recovery === 'gc' ? 'network gc' : 'connect'} leaves one attachment or none`, async (t) => {
      t.after(() => tsnerd(env, ['rm', '-f', 'hk-conn']));
      await ok(['run', '-d', '--name', 'hk-conn', '--net', NET, 'busybox', 'sleep', '600']);
      const r = await faulted('connect-added', ['network', 'connect', NET2, 'hk-conn']);
      assert.notEqual(r.exitCode, 0, 'the fault at connect-added did not fire');
      // The record decides: not connected (the attachment the killed connect made is released by what comes next).
      assert.deepEqual((await seen('hk-conn')).listed, [NET]);
      if (recovery === 'gc') {
        assert.match(await ok(['network', 'gc']), new RegExp(`cni-attachment +${NET2} eth1`));
        assert.deepEqual(await seen('hk-conn'), alone);
        assert.deepEqual(await allocations(NET2), []);
      }
      await ok(['network', 'connect', NET2, 'hk-conn']);
      assert.deepEqual(await seen('hk-conn'), connected);
      assert.equal((await allocations(NET2)).length, 1, 'one address on the connected network');
      await ok(['rm', '-f', 'hk-conn']);
      assert.deepEqual(await differences(), []);
    });
  }

  for (const step of ['disconnect-recorded', 'masq-removed', 'shortcut-del-firewall', 'disconnect-deleted']) {
    it(`network disconnect killed at ${step}: the next disconnect finishes it, rm -f leaves nothing`, async (t) => {
      t.after(() => tsnerd(env, ['rm', '-f', 'hk-disc']));
      await ok(['run', '-d', '--name', 'hk-disc', '--net', NET, 'busybox', 'sleep', '600']);
      await ok(['network', 'connect', NET2, 'hk-disc']);
      assert.deepEqual(await seen('hk-disc'), connected);
      const d = await faulted(step, ['network', 'disconnect', NET2, 'hk-disc']);
      assert.notEqual(d.exitCode, 0, `the fault at ${step} did not fire`);
      await ok(['network', 'disconnect', NET2, 'hk-disc']);
      assert.deepEqual(await seen('hk-disc'), alone);
      assert.deepEqual(await allocations(NET2), [], 'no address left on the disconnected network');
      const again = await tsnerd(env, ['network', 'disconnect', NET2, 'hk-disc']);
      assert.match(again.stderr, /is not connected to network/);
      await ok(['rm', '-f', 'hk-disc']);
      assert.deepEqual(await differences(), []);
    });
  }

  it('network connect killed after its ADD, then rm -f: nothing left (no gc)', async (t) => {
    t.after(() => tsnerd(env, ['rm', '-f', 'hk-conn2']));
    await ok(['run', '-d', '--name', 'hk-conn2', '--net', NET, 'busybox', 'sleep', '600']);
    const r = await faulted('connect-added', ['network', 'connect', NET2, 'hk-conn2']);
    assert.notEqual(r.exitCode, 0, 'the fault at connect-added did not fire');
    await ok(['rm', '-f', 'hk-conn2']);
    assert.deepEqual(await differences(), []);
  });
});
