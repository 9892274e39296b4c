/**
 * The port holder puts back, by itself, the firewall rules of a held container that something
 * removed (a firewall service's reload, `iptables -t nat -F`), as netavark's firewalld-reload
 * service does for Podman: its forward check (every 5 s, the default) sees the container's
 * portmap jump gone and runs `network reload` for exactly that container. The rules come back
 * the same set as before and the port answers; another container's rules are not touched, and
 * nothing runs while nothing is missing. The "flush" removes only this file's container's rules.
 * A full flush (nat and filter tables flushed and their chains deleted) runs in a network
 * namespace of the test's own, where every rule is this file's.
 * A flush no check saw the forward before (while no holder ran, or in a start's first seconds) is
 * mended as well: the holder arms a finished start's forwards from its result cache.
 * Env hw-watch, network hw-net 10.255.1.0/24, host ports 49100-49101; env hw-watch-full in netns
 * hw-watch-ns, network hw-full 10.255.2.0/24, port 49102 (in that netns).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { canBind, flushOf, httpGet, ok, removeAllContainers, rulesOf, waitFor } from '../helpers.ts';

const NET = 'hw-net';
const PORT = 49100;
const OTHER_PORT = 49101;

interface Started {
  id: string;
  cniId: string;
  ip: string;
}

describe('port holder: forwards put back after a flush (e2e)', { timeout: 300_000 }, () => {
  let env: TestEnv;
  let web: Started;
  let other: Started;
  const holderLog = async () => readFile(join(env.dataRoot, 'portholder', 'holder.log'), 'utf8');
  const reloadsIn = (log: string) => log.split('\n').filter((l) => l.includes(' running network reload '));

  /** Waits until web's rules are `made` again (at most 20 s after the flush), and its port answers. */
  async function rulesBack(made: readonly string[], flushedAt: number): Promise<void> {
    let back: string[] = [];
    while (Date.now() - flushedAt < 20_000) {
      back = await rulesOf(web.cniId, web.ip);
      if (back.length === made.length) break;
      await sleep(250);
    }
    assert.deepEqual(back, made, `the same rules, once each, within 20 s:\n${await holderLog()}`);
    await httpGet(`http://127.0.0.1:${PORT}/`);
    console.log(`# rules back and port answering ${Date.now() - flushedAt} ms after the flush`);
  }

  async function runWeb(name: string, port: number): Promise<Started> {
    const id = await ok(env, [
      'run',
      '-d',
      '--name',
      name,
      '--net',
      NET,
      '-p',
      `127.0.0.1:${port}:80`,
      'busybox',
      'httpd',
      '-f',
      '-p',
      '80',
    ]);
    const [info] = JSON.parse(await ok(env, ['inspect', name])) as { NetworkSettings: { IPAddress: string } }[];
    await httpGet(`http://127.0.0.1:${port}/`);
    return { id, cniId: `${env.namespace}-${id}`, ip: info!.NetworkSettings.IPAddress };
  }

  before(async () => {
    env = await startEnv('hw-watch');
    await importTestImage(env);
    await ok(env, ['network', 'create', NET, '--subnet', '10.255.1.0/24']);
    web = await runWeb('hw-web', PORT);
    other = await runWeb('hw-other', OTHER_PORT);
  });
  after(async () => {
    if (!env) return;
    await removeAllContainers(env);
    await tsnerd(env, ['network', 'rm', NET]);
    await env.stop();
  });

  it('runs nothing while nothing is missing', async () => {
    // two checks (5 s apart) and more: the holder only lists, it reloads nothing
    await sleep(12_000);
    assert.deepEqual(reloadsIn(await holderLog()), []);
    assert.doesNotMatch(await holderLog(), /port forwards of .* are gone/);
  });

  it('puts back exactly the rules a flush took from one container, by itself, and the port answers again', async () => {
    const made = await rulesOf(web.cniId, web.ip);
    const others = await rulesOf(other.cniId, other.ip);
    assert.ok(
      made.some((r) => r.includes(`--to-destination ${web.ip}:80`)),
      made.join('\n'),
    );
    assert.ok(made.filter((r) => r.includes(' -j MASQUERADE')).length >= 1, made.join('\n'));

    await flushOf(made);
    assert.deepEqual(await rulesOf(web.cniId, web.ip), [], 'the flush took them');
    const flushedAt = Date.now();

    // within a check (5 s), its confirmation (1 s) and a reload
    await rulesBack(made, flushedAt);

    // the other container's rules are as they were, and only hw-web was reloaded, once
    assert.deepEqual(await rulesOf(other.cniId, other.ip), others);
    await httpGet(`http://127.0.0.1:${OTHER_PORT}/`);
    // the rules are back before the reload's CLI has exited
    const log = await waitFor(
      'the reload to end',
      async () => /network reload exited with/.test(await holderLog()) && holderLog(),
      10_000,
      100,
    );
    const reloads = reloadsIn(log);
    assert.equal(reloads.length, 1, log);
    assert.ok(reloads[0]!.endsWith(` ${web.id}`), reloads[0]);
    assert.match(log, new RegExp(`port forwards of ${web.id} .* are gone \\(4/${NET}\\)`));
    assert.match(log, /network reload exited with 0 /);

    for (const l of log.split('\n')) if (/forwards|network reload/.test(l)) console.log(`# holder.log: ${l.slice(0, 160)}`);

    // intact again: the next checks run nothing more; nor does a removal, which takes the
    // rules of a container the holder still holds for a moment
    await ok(env, ['rm', '-f', 'hw-other']);
    await sleep(11_000);
    assert.equal(reloadsIn(await holderLog()).length, 1, await holderLog());
    assert.deepEqual(await rulesOf(web.cniId, web.ip), made);
  });

  it('a holder started again after a kill -9 watches the containers of its registry', async () => {
    const made = await rulesOf(web.cniId, web.ip);
    const pidFile = join(env.dataRoot, 'portholder', 'holder.pid');
    const killed = Number((await readFile(pidFile, 'utf8')).trim());
    process.kill(killed, 'SIGKILL');
    // a killed node's threads may hold its sockets a little longer than its pid shows
    await waitFor('the killed holder to free the port', () => canBind('127.0.0.1', PORT), 10_000, 100);
    const before = reloadsIn(await holderLog()).length;
    await ok(env, ['network', 'gc', '--dry-run']); // makes sure a holder runs while anything is registered
    const restarted = Number((await readFile(pidFile, 'utf8')).trim());
    assert.notEqual(restarted, killed);
    await sleep(6_000); // its first check sees the forward
    await flushOf(made);
    await rulesBack(made, Date.now());
    assert.equal(reloadsIn(await holderLog()).length, before + 1, await holderLog());
  });

  it('mends a flush that no check saw the forward before: while no holder ran, and right after a start', async () => {
    // a flush while the holder is dead: the next holder arms web from its result cache
    const made = await rulesOf(web.cniId, web.ip);
    const pidFile = join(env.dataRoot, 'portholder', 'holder.pid');
    process.kill(Number((await readFile(pidFile, 'utf8')).trim()), 'SIGKILL');
    await waitFor('the killed holder to free the port', () => canBind('127.0.0.1', PORT), 10_000, 100);
    const before = reloadsIn(await holderLog()).length;
    await flushOf(made);
    const flushedAt = Date.now();
    await ok(env, ['network', 'gc', '--dry-run']); // a holder runs again while anything is registered
    await rulesBack(made, flushedAt);
    assert.equal(reloadsIn(await holderLog()).length, before + 1, await holderLog());

    // a flush right after `run`, before the running holder's next check
    const early = await runWeb('hw-early', OTHER_PORT);
    const earlyRules = await rulesOf(early.cniId, early.ip);
    await flushOf(earlyRules);
    const earlyAt = Date.now();
    let back: string[] = [];
    while (Date.now() - earlyAt < 20_000 && back.length !== earlyRules.length) {
      await sleep(250);
      back = await rulesOf(early.cniId, early.ip);
    }
    assert.deepEqual(back, earlyRules, `the same rules within 20 s:\n${await holderLog()}`);
    await httpGet(`http://127.0.0.1:${OTHER_PORT}/`);
    const reloads = reloadsIn(await holderLog());
    assert.equal(reloads.length, before + 2, await holderLog());
    assert.ok(reloads.at(-1)!.endsWith(` ${early.id}`), reloads.at(-1));
    // nothing more runs once all is intact
    await sleep(11_000);
    assert.equal(reloadsIn(await holderLog()).length, before + 2, await holderLog());
  });
});

describe('port holder: forwards put back after a full flush, in a netns (e2e)', { timeout: 300_000 }, () => {
  const NETNS = 'hw-watch-ns';
  const FULL_PORT = 49102;
  let env: TestEnv | undefined;
  const inNs = (cmd: string, args: string[]) => execa('nsenter', [`--net=/run/netns/${NETNS}`, '--', cmd, ...args], { reject: false });
  /** Every rule of the netns's nat and filter tables: all of them are this test's. */
  const allRules = async () => {
    const out: string[] = [];
    for (const table of ['nat', 'filter'])
      for (const l of (await inNs('iptables', ['-w', '-t', table, '-S'])).stdout.split('\n')) out.push(`${table} ${l}`);
    return out.sort();
  };
  const answers = async () =>
    (
      await inNs(process.execPath, [
        '-e',
        `fetch('http://127.0.0.1:${FULL_PORT}/', { signal: AbortSignal.timeout(1500) }).then(() => process.exit(0), () => process.exit(1))`,
      ])
    ).exitCode === 0;

  before(async () => {
    await execa('ip', ['netns', 'del', NETNS], { reject: false });
    await execa('ip', ['netns', 'add', NETNS]);
    await execa('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
    env = await startEnv('hw-watch-full', { netns: NETNS });
    await importTestImage(env);
    await ok(env, ['network', 'create', 'hw-full', '--subnet', '10.255.2.0/24']);
  });
  after(async () => {
    try {
      if (env) {
        await removeAllContainers(env);
        await tsnerd(env, ['network', 'rm', 'hw-full']);
        await env.stop();
      }
    } finally {
      await execa('ip', ['netns', 'del', NETNS], { reject: false });
    }
  });

  it('iptables -t nat -F -X and -t filter -F -X: the same rules come back and the port answers', async () => {
    await ok(env!, [
      'run',
      '-d',
      '--name',
      'hw-full-web',
      '--net',
      'hw-full',
      '-p',
      `127.0.0.1:${FULL_PORT}:80`,
      'busybox',
      'httpd',
      '-f',
      '-p',
      '80',
    ]);
    await waitFor('the port to answer', answers, 20_000, 200);
    await sleep(6_000); // a check sees its forward
    const made = await allRules();
    assert.ok(
      made.some((r) => r.startsWith('nat -A CNI-HOSTPORT-DNAT ')),
      made.join('\n'),
    );
    for (const table of ['nat', 'filter']) for (const op of ['-F', '-X']) await inNs('iptables', ['-w', '-t', table, op]);
    assert.ok(!(await allRules()).some((r) => r.includes('CNI-')), 'flushed');
    assert.equal(await answers(), false);
    const flushedAt = Date.now();
    await waitFor('the rules to come back', async () => (await allRules()).length >= made.length, 20_000, 250);
    assert.deepEqual(await allRules(), made);
    assert.ok(await answers());
    console.log(`# full flush: rules back and port answering ${Date.now() - flushedAt} ms after it`);
  });
});
