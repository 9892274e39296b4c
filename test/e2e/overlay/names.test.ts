/**
 * DNS names across the hosts of an overlay network: each host's agent publishes its
 * containers' names to etcd (under <prefix>/tsnerd/names/, on a 10 s lease) and keeps the
 * other hosts' for its resolver. Three hosts as network namespaces (fabric.ts, with this file's
 * own names: namespaces xd-ovl-*, bridge xd-br, underlay 10.225.255.0/24, etcd on 37380),
 * overlay 10.224.0.0/16 with VNI 1224 on UDP 37200.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fabric, eventually, ipOf, lookup, ok, type Host } from './fabric.ts';

const PREFIX = '/tsnerd-e2e/xd';
const NET = 'xd-ovl';
const fabric = new Fabric('xd-names', { nsPrefix: 'xd-ovl-', bridge: 'xd-br', linkPrefix: 'xd-', underlay: '10.225.255', etcdPort: 37380 });
const CREATE_FIRST = [
  '--driver',
  'overlay',
  '--etcd-endpoints',
  fabric.etcdUrl,
  '--subnet',
  '10.224.0.0/16',
  '--subnet-len',
  '24',
  '--vni',
  '1224',
  '--port',
  '37200',
  '-o',
  `etcd-prefix=${PREFIX}`,
];
const JOIN = ['--driver', 'overlay', '--etcd-endpoints', fabric.etcdUrl, '-o', `etcd-prefix=${PREFIX}`];
const SLEEP = ['busybox', 'sleep', '100000'];

interface OverlayView {
  IPAM: { Config: { Subnet: string; Gateway?: string }[] };
  Overlay: { AgentPid?: number; SupervisorPid?: number; Lease?: { Subnet: string }; Names?: { Published: number; Remote: number } };
}

async function view(h: Host): Promise<OverlayView> {
  return (JSON.parse(await ok(h, ['network', 'inspect', NET])) as OverlayView[])[0]!;
}

/** The host's resolver address on the overlay: its subnet's gateway. */
async function gateway(h: Host): Promise<string> {
  return (await view(h)).IPAM.Config[0]!.Gateway!;
}

/** etcd's keys (and values) under a key prefix. */
async function keys(prefix: string): Promise<Record<string, string>> {
  const r = await fabric.etcdctl(['get', '--prefix', prefix, '-w', 'json']);
  assert.equal(r.exitCode, 0, r.stderr);
  const kvs = (JSON.parse(r.stdout) as { kvs?: { key: string; value: string }[] }).kvs ?? [];
  const dec = (b: string) => Buffer.from(b, 'base64').toString();
  return Object.fromEntries(kvs.map((kv) => [dec(kv.key), dec(kv.value)]));
}

async function hostNames(h: Host): Promise<string[]> {
  const subnet = (await view(h)).Overlay.Lease!.Subnet.replace('/', '-');
  return Object.keys(await keys(`${PREFIX}/tsnerd/names/${subnet}/`));
}

/** The files of other hosts' names in the host's dns dirs. */
function remoteFiles(h: Host): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(h.env.dataRoot)) {
    const dns = join(h.env.dataRoot, entry, 'dns');
    if (existsSync(dns)) out.push(...readdirSync(dns).filter((f) => f.startsWith('remote-')));
  }
  return out;
}

const ips: Record<string, string> = {};

describe('DNS names across the hosts of an overlay network (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    await fabric.start();
    await Promise.all([fabric.addHost('a', 1), fabric.addHost('b', 2), fabric.addHost('c', 3)]);
  });
  after(() => fabric.stop());

  it("a container finds another host's containers by name (A, NAME.NETWORK, aliases, PTR), each host its own; flannel's keys are as before", async () => {
    const [a, b, c] = [fabric.host('a'), fabric.host('b'), fabric.host('c')];
    await ok(a, ['network', 'create', NET, ...CREATE_FIRST]);
    await ok(b, ['network', 'create', NET, ...JOIN]);
    await ok(c, ['network', 'create', NET, ...JOIN]);
    await ok(a, ['run', '-d', '--name', 'cli-a', '--net', NET, ...SLEEP]);
    await ok(b, ['run', '-d', '--name', 'web-b', '--net', NET, '--network-alias', 'www', ...SLEEP]);
    await ok(c, ['run', '-d', '--name', 'db-c', '--net', NET, ...SLEEP]);
    Object.assign(ips, { a: await ipOf(a, 'cli-a'), b: await ipOf(b, 'web-b'), c: await ipOf(c, 'db-c') });
    const gwA = await gateway(a);

    const { ms } = await eventually('A resolves web-b', async () => assert.deepEqual(await lookup(a, 'cli-a', 'web-b', gwA), [ips['b']]));
    console.log(`# web-b resolved on A ${ms} ms after its run returned`);
    assert.deepEqual(await lookup(a, 'cli-a', `db-c.${NET}`, gwA), [ips['c']]);
    assert.deepEqual(await lookup(a, 'cli-a', 'www', gwA), [ips['b']], "web-b's network alias");
    assert.deepEqual(await lookup(a, 'cli-a', ips['b']!, gwA, 'ptr'), [`web-b.${NET}`]);
    assert.deepEqual(await lookup(a, 'cli-a', 'cli-a', gwA), [ips['a']], 'local names as before');
    const gwB = await gateway(b);
    await eventually('B resolves cli-a and db-c', async () => {
      assert.deepEqual(await lookup(b, 'web-b', 'cli-a', gwB), [ips['a']]);
      assert.deepEqual(await lookup(b, 'web-b', 'db-c', gwB), [ips['c']]);
    });

    // etcd: flannel's keys as flanneld expects them, tsnerd's apart
    const all = Object.keys(await keys(`${PREFIX}/`)).sort();
    assert.deepEqual(
      all.filter((k) => !k.startsWith(`${PREFIX}/tsnerd/names/`)),
      [`${PREFIX}/config`, ...all.filter((k) => k.startsWith(`${PREFIX}/subnets/`))],
    );
    assert.equal(all.filter((k) => k.startsWith(`${PREFIX}/subnets/`)).length, 3);
    for (const h of [a, b, c]) assert.equal((await hostNames(h)).length, 1, `[${h.letter}] one record`);
    assert.deepEqual((await view(a)).Overlay.Names, { Published: 1, Remote: 2 }, 'network inspect counts them');
  });

  it('a name on two hosts answers both addresses', async () => {
    const [a, c] = [fabric.host('a'), fabric.host('c')];
    await ok(a, ['run', '-d', '--name', 'twin', '--net', NET, ...SLEEP]);
    await ok(c, ['run', '-d', '--name', 'twin', '--net', NET, ...SLEEP]);
    const both = [await ipOf(a, 'twin'), await ipOf(c, 'twin')].sort();
    await eventually('both twins', async () => assert.deepEqual(await lookup(a, 'cli-a', 'twin', await gateway(a)), both));
    await ok(a, ['rm', '-f', 'twin']);
    await ok(c, ['rm', '-f', 'twin']);
  });

  it('the name of a removed remote container is gone within seconds (stop, rm, disconnect)', async () => {
    const [a, b] = [fabric.host('a'), fabric.host('b')];
    const gwA = await gateway(a);
    for (const [name, leave] of [
      ['gone-stop', ['stop', '-t', '0', 'gone-stop']],
      ['gone-rm', ['rm', '-f', 'gone-rm']],
      ['gone-disc', ['network', 'disconnect', NET, 'gone-disc']],
    ] as const) {
      await ok(b, ['run', '-d', '--name', name, '--net', NET, ...SLEEP]);
      const ip = await ipOf(b, name);
      await eventually(`A resolves ${name}`, async () => assert.deepEqual(await lookup(a, 'cli-a', name, gwA), [ip]));
      await ok(b, [...leave]);
      const { ms } = await eventually(
        `${name} gone on A`,
        async () => assert.deepEqual(await lookup(a, 'cli-a', `${name}.${NET}`, gwA), []),
        10_000,
      );
      console.log(`# ${name}: gone on A ${ms} ms after ${leave[0]} returned`);
      assert.equal((await hostNames(b)).length, 1, `${name}'s record is gone from etcd`);
      if (leave[0] !== 'rm') await ok(b, ['rm', '-f', name]);
    }
  });

  it("after kill -9 of a host's agent and its supervisor its names expire (as a dead host's); the agent started again publishes them once more, not twice", async () => {
    const [a, c] = [fabric.host('a'), fabric.host('c')];
    const gwA = await gateway(a);
    const before = await view(c);
    // The supervisor first: it would start the agent again (agent-supervise.test.ts).
    process.kill(before.Overlay.SupervisorPid!, 'SIGKILL');
    process.kill(before.Overlay.AgentPid!, 'SIGKILL');
    const { ms } = await eventually('db-c expires', async () => assert.deepEqual(await lookup(a, 'cli-a', `db-c.${NET}`, gwA), []), 30_000);
    console.log(`# db-c gone on A ${ms} ms after C's agent was killed`);
    assert.deepEqual(await hostNames(c), []);
    // The next container on the network starts the agent again (the OCI hook).
    await ok(c, ['run', '-d', '--name', 'db2-c', '--net', NET, ...SLEEP]);
    assert.notEqual((await view(c)).Overlay.AgentPid, before.Overlay.AgentPid);
    await eventually('db-c and db2-c resolve again', async () => {
      assert.deepEqual(await lookup(a, 'cli-a', 'db-c', gwA), [ips['c']]);
      assert.deepEqual(await lookup(a, 'cli-a', 'db2-c', gwA), [await ipOf(c, 'db2-c')]);
    });
    assert.equal((await hostNames(c)).length, 2);

    // Killed and started again at once: the records stay (the old lease still runs), are moved to the new lease, not doubled.
    const { AgentPid: pid, SupervisorPid: supervisor } = (await view(c)).Overlay;
    process.kill(supervisor!, 'SIGKILL');
    process.kill(pid!, 'SIGKILL');
    await ok(c, ['run', '-d', '--name', 'db3-c', '--net', NET, ...SLEEP]);
    await eventually('db3-c resolves', async () => assert.deepEqual(await lookup(a, 'cli-a', 'db3-c', gwA), [await ipOf(c, 'db3-c')]));
    assert.deepEqual(await lookup(a, 'cli-a', 'db-c', gwA), [ips['c']]);
    assert.equal((await hostNames(c)).length, 3);
    await sleep(12_000); // past the killed agent's lease
    assert.equal((await hostNames(c)).length, 3, 'the records are on the new agent lease');
    await ok(c, ['rm', '-f', 'db2-c', 'db3-c']);
  });

  it("network gc starts a killed agent (and its supervisor) again: the host's names come back without a new container", async () => {
    const [a, c] = [fabric.host('a'), fabric.host('c')];
    const gwA = await gateway(a);
    const { AgentPid: pid, SupervisorPid: supervisor } = (await view(c)).Overlay;
    process.kill(supervisor!, 'SIGKILL');
    process.kill(pid!, 'SIGKILL');
    await eventually('db-c expires', async () => assert.deepEqual(await lookup(a, 'cli-a', `db-c.${NET}`, gwA), []), 30_000);
    await ok(c, ['network', 'gc']);
    const after = (await view(c)).Overlay.AgentPid;
    assert.ok(after !== undefined && after !== pid, `a new agent runs (${after})`);
    await eventually('db-c resolves again', async () => assert.deepEqual(await lookup(a, 'cli-a', 'db-c', gwA), [ips['c']]));
    assert.equal((await hostNames(c)).length, 1);
  });

  it('through an etcd outage local names keep working and remote ones stay as last known; a container started meanwhile is published after', async () => {
    const [a, b] = [fabric.host('a'), fabric.host('b')];
    const gwA = await gateway(a);
    await fabric.stopEtcd();
    try {
      await ok(a, ['run', '-d', '--name', 'local-a', '--net', NET, ...SLEEP]);
      await ok(b, ['run', '-d', '--name', 'late-b', '--net', NET, ...SLEEP]);
      assert.deepEqual(await lookup(a, 'cli-a', 'local-a', gwA), [await ipOf(a, 'local-a')]);
      assert.deepEqual(await lookup(a, 'cli-a', 'web-b', gwA), [ips['b']]);
      assert.deepEqual(await lookup(a, 'cli-a', 'db-c', gwA), [ips['c']]);
      await sleep(3_000);
      assert.deepEqual(await lookup(a, 'cli-a', 'web-b', gwA), [ips['b']], 'still there');
    } finally {
      await fabric.startEtcd();
    }
    const late = await ipOf(b, 'late-b');
    await eventually('late-b resolves on A', async () => assert.deepEqual(await lookup(a, 'cli-a', 'late-b', gwA), [late]));
    assert.deepEqual(await lookup(a, 'cli-a', 'web-b', gwA), [ips['b']]);
    await ok(a, ['rm', '-f', 'local-a']);
    await ok(b, ['rm', '-f', 'late-b']);
  });

  it('network rm on a host takes its names from etcd and the others; rm --force on the last host leaves no key and no file', async () => {
    const [a, b, c] = [fabric.host('a'), fabric.host('b'), fabric.host('c')];
    const gwA = await gateway(a);
    await ok(b, ['rm', '-f', 'web-b']);
    await ok(b, ['network', 'rm', NET]);
    assert.deepEqual(remoteFiles(b), [], "B's file of remote names is gone");
    assert.equal(Object.keys(await keys(`${PREFIX}/tsnerd/names/`)).length, 2, 'cli-a and db-c left');
    await eventually('web-b gone on A', async () => assert.deepEqual(await lookup(a, 'cli-a', `web-b.${NET}`, gwA), []), 10_000);
    assert.deepEqual(await lookup(a, 'cli-a', 'db-c', gwA), [ips['c']]);
    for (const h of [c, a]) {
      const ids = (await ok(h, ['ps', '-aq'])).split('\n').filter(Boolean);
      if (ids.length > 0) await ok(h, ['rm', '-f', ...ids]);
      await ok(h, ['network', 'rm', '-f', NET]);
      assert.deepEqual(remoteFiles(h), [], `[${h.letter}] no file of remote names`);
    }
    assert.deepEqual(await keys(`${PREFIX}/`), {}, 'nothing left in etcd');
  });
});
