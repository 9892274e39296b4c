/**
 * Issue 13's remaining acceptance points end to end: `network inspect` names
 * each attachment's ethN (MAC, addresses, EndpointID) across connect and
 * disconnect; dual-stack networks give a ::/0 route, IPv6 to the gateway and
 * peers, and `-p` held on [::]; stop/start, a reboot with `network gc`, and
 * `rm -f` handle connected networks; a connect that fails halfway and bad
 * input leave the host as it was; a shared alias in the hosts files.
 * Networks in 10.231.0.0/16 and fd31:231::/48, host ports 43000-43199,
 * names con2-* (this helper's resources); traffic only to container and
 * bridge addresses of this file's networks.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { diffHostState, snapshotHostState, waitForHostState, type HostStateScope } from '../host-state.ts';
import { deleteBridge } from '../helpers.ts';
import { simulateReboot } from '../reboot.ts';

let env: TestEnv;
const ok = (args: string[]) => h.ok(env, args);
const fails = (args: string[]) => h.failsWithOneLine(env, args);
const eventually = (args: string[]) => h.eventually(env, args);
const NETWORKS = ['con2-a', 'con2-b', 'con2-c', 'con2-ds', 'con2-full'];
const HTTPD = ['sh', '-c', 'echo hello-from-$(hostname) > /tmp/index.html && exec httpd -f -p 80 -h /tmp'];

interface Endpoint {
  IPAddress: string;
  GlobalIPv6Address: string;
  MacAddress: string;
  EndpointID: string;
}
const inspect = async (name: string) =>
  (JSON.parse(await ok(['inspect', name])) as { Id: string; NetworkSettings: { Networks: Record<string, Endpoint> } }[])[0]!;
interface NetContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}
const netContainers = async (net: string) =>
  (JSON.parse(await ok(['network', 'inspect', net])) as { Containers: Record<string, NetContainer> }[])[0]!.Containers;
const interfaces = async (name: string) => (await ok(['exec', name, 'ls', '/sys/class/net'])).split('\n').sort();
/** Tries a v6-only listen on [::]:port (the side Docker binds besides 0.0.0.0): 'OK' or the error code. */
const tryListenV6Only = (port: number) =>
  new Promise<string>((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'ERROR'));
    server.listen({ host: '::', port, exclusive: true, ipv6Only: true }, () => server.close(() => resolve('OK')));
  });
const untilFree = async (probe: () => Promise<string>) => {
  for (let i = 0; i < 50; i++) {
    if ((await probe()) === 'OK') return;
    await sleep(100);
  }
  assert.fail('the port stayed held');
};

describe('network connect: inspect, IPv6, lifecycle, failures (e2e)', { timeout: 1_200_000 }, () => {
  before(async () => {
    env = await startEnv('con2-connect');
    await importTestImage(env);
    await ok(['network', 'create', 'con2-a', '--subnet', '10.231.1.0/24']);
    await ok(['network', 'create', 'con2-b', '--subnet', '10.231.2.0/24']);
    await ok(['network', 'create', 'con2-c', '--subnet', '10.231.3.0/24']);
    await ok(['network', 'create', 'con2-ds', '--ipv6', '--subnet', 'fd31:231:4::/64', '--subnet', '10.231.4.0/24']);
    // A /29 with .3-.6 reserved: one address (.2) for containers.
    const aux = ['r1=10.231.5.3', 'r2=10.231.5.4', 'r3=10.231.5.5', 'r4=10.231.5.6'].flatMap((a) => ['--aux-address', a]);
    await ok(['network', 'create', 'con2-full', '--subnet', '10.231.5.0/29', ...aux]);
  });
  after(() => h.closeEnv(env, NETWORKS));

  it('network inspect and inspect show each attachment on its own ethN after connect and disconnect', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-x'] });
    await ok(['run', '-d', '--name', 'con2-x', '--net', 'con2-a', 'busybox', 'sleep', '1000']);
    await ok(['network', 'connect', 'con2-b', 'con2-x']); // eth1
    await ok(['network', 'disconnect', 'con2-a', 'con2-x']); // eth0 is free again
    await ok(['network', 'connect', 'con2-c', 'con2-x']); // the lowest free: eth0
    assert.deepEqual(await interfaces('con2-x'), ['eth0', 'eth1', 'lo']);
    const info = await inspect('con2-x');
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks).sort(), ['con2-b', 'con2-c']);
    assert.deepEqual(await netContainers('con2-a'), {}, 'con2-a no longer lists it');
    const ids = new Set<string>();
    for (const [net, ifname, prefix] of [
      ['con2-b', 'eth1', '10.231.2.'],
      ['con2-c', 'eth0', '10.231.3.'],
    ] as const) {
      const entry = (await netContainers(net))[info.Id];
      assert.ok(entry, `${net} lists con2-x`);
      assert.equal(entry.Name, 'con2-x');
      assert.equal(entry.MacAddress, await ok(['exec', 'con2-x', 'cat', `/sys/class/net/${ifname}/address`]), `${net} is on ${ifname}`);
      const addr = /inet (\S+)/.exec(await ok(['exec', 'con2-x', 'ip', '-o', '-4', 'addr', 'show', ifname]))?.[1];
      assert.equal(entry.IPv4Address, addr);
      assert.ok(addr?.startsWith(prefix), `${ifname} has ${net}'s address: ${addr}`);
      assert.equal(entry.IPv6Address, '');
      assert.match(entry.EndpointID, /^[0-9a-f]{64}$/);
      assert.equal(entry.EndpointID, info.NetworkSettings.Networks[net]!.EndpointID, 'inspect and network inspect agree');
      assert.equal(entry.MacAddress, info.NetworkSettings.Networks[net]!.MacAddress);
      ids.add(entry.EndpointID);
    }
    assert.equal(ids.size, 2);
    // A new attachment to a network is a new endpoint.
    await ok(['network', 'disconnect', 'con2-b', 'con2-x']);
    await ok(['network', 'connect', 'con2-b', 'con2-x']);
    assert.ok(!ids.has((await netContainers('con2-b'))[info.Id]!.EndpointID));
  });

  it('dual-stack: a ::/0 route, IPv6 to the gateway and to peers by name (also after a connect), -p held and answering on [::]', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-d1', 'con2-d2', 'con2-d3', 'con2-w4'] });
    await ok(['run', '-d', '--name', 'con2-d1', '--net', 'con2-ds', '-p', '43000:80', 'busybox', ...HTTPD]);
    await ok(['run', '-d', '--name', 'con2-d2', '--net', 'con2-ds', 'busybox', 'sleep', '1000']);
    assert.match(await ok(['exec', 'con2-d1', 'ip', '-6', 'route']), /^default via fd31:231:4::1 dev eth0/m);
    assert.match(await ok(['exec', 'con2-d1', 'ip', '-4', 'route']), /^default via 10\.231\.4\.1 dev eth0/m);
    await eventually(['exec', 'con2-d2', 'ping', '-6', '-c', '1', '-W', '2', 'fd31:231:4::1']);
    await eventually(['exec', 'con2-d2', 'ping', '-6', '-c', '1', '-W', '2', 'con2-d1']);
    const d1 = (await inspect('con2-d1')).NetworkSettings.Networks['con2-ds']!;
    assert.equal((await netContainers('con2-ds'))[(await inspect('con2-d1')).Id]?.IPv6Address, `${d1.GlobalIPv6Address}/64`);

    // The holder keeps both sides of -p 43000:80, as Docker binds 0.0.0.0 and [::].
    assert.equal(await h.tryListen('0.0.0.0', 43000), 'EADDRINUSE');
    assert.equal(await tryListenV6Only(43000), 'EADDRINUSE');
    assert.match(await h.httpGet('http://[fd31:231:4::1]:43000/'), /^hello-from-/);
    // port and inspect list both sides, as Docker does.
    assert.deepEqual((await ok(['port', 'con2-d1'])).split('\n'), ['80/tcp -> 0.0.0.0:43000', '80/tcp -> [::]:43000']);
    const ports = (
      JSON.parse(await ok(['inspect', 'con2-d1'])) as { NetworkSettings: { Ports: Record<string, { HostIp: string }[]> } }[]
    )[0]!.NetworkSettings.Ports;
    assert.deepEqual(
      ports['80/tcp']!.map((b) => b.HostIp),
      ['0.0.0.0', '::'],
    );
    assert.match(await ok(['ps', '--format', '{{.Names}} {{.Ports}}']), /^con2-d1 0\.0\.0\.0:43000->80\/tcp, \[::\]:43000->80\/tcp$/m);
    // On an IPv4-only network nothing forwards IPv6: only 0.0.0.0 is held (as nerdctl).
    await ok(['run', '-d', '--name', 'con2-w4', '--net', 'con2-a', '-p', '43001:80', 'busybox', ...HTTPD]);
    assert.equal(await h.tryListen('0.0.0.0', 43001), 'EADDRINUSE');
    assert.equal(await tryListenV6Only(43001), 'OK');
    assert.equal(await ok(['port', 'con2-w4']), '80/tcp -> 0.0.0.0:43001');

    // An IPv4-only container connected to the dual-stack network gets IPv6 and a ::/0 route there.
    await ok(['run', '-d', '--name', 'con2-d3', '--net', 'con2-a', 'busybox', 'sleep', '1000']);
    await ok(['network', 'connect', 'con2-ds', 'con2-d3']);
    assert.match(await ok(['exec', 'con2-d3', 'ip', '-6', 'route']), /^default via fd31:231:4::1 dev eth1/m);
    const d3 = (await inspect('con2-d3')).NetworkSettings.Networks['con2-ds']!;
    assert.match(d3.GlobalIPv6Address, /^fd31:231:4::/);
    assert.match(d3.IPAddress, /^10\.231\.4\./);
    await eventually(['exec', 'con2-d3', 'ping', '-6', '-c', '1', '-W', '2', 'con2-d2']);
    await eventually(['exec', 'con2-d2', 'ping', '-6', '-c', '1', '-W', '2', 'con2-d3']);

    // Both sides keep forwarding across a connect and a disconnect of another network.
    await ok(['network', 'connect', 'con2-b', 'con2-d1']);
    await ok(['network', 'disconnect', 'con2-b', 'con2-d1']);
    assert.match(await h.httpGet('http://[fd31:231:4::1]:43000/'), /^hello-from-/);
    assert.match(await h.httpGet('http://10.231.4.1:43000/'), /^hello-from-/);

    await ok(['rm', '-f', 'con2-d1', 'con2-w4']);
    await untilFree(() => h.tryListen('0.0.0.0', 43000));
    await untilFree(() => tryListenV6Only(43000));
    await untilFree(() => h.tryListen('0.0.0.0', 43001));
  });

  it('-p on a dual-stack network fails with one line when [::]:P is taken, and leaves nothing; -p [::]:P:C publishes on IPv6 only', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-t1', 'con2-t2'] });
    const scope: HostStateScope = { networks: ['con2-ds'], ports: [43020, 43021] };
    // The baseline after one container ran (the bridge and the namespace's hosts index exist).
    await ok(['run', '--rm', '--net', 'con2-ds', 'busybox', 'true']);
    const baseline = await snapshotHostState(env, scope);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: '::', port: 43020, exclusive: true, ipv6Only: true }, resolve));
    try {
      assert.match(
        await fails(['run', '-d', '--name', 'con2-t1', '--net', 'con2-ds', '-p', '43020:80', 'busybox', 'sleep', '1000']),
        // Found by the create-time check (a listener on [::] counts for 0.0.0.0 too, as in nerdctl's check).
        /:43020 failed: port is already allocated/,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    await ok(['rm', '-f', 'con2-t1']).catch(() => undefined);
    assert.deepEqual(await waitForHostState(env, scope, baseline), []);

    await ok(['run', '-d', '--name', 'con2-t2', '--net', 'con2-ds', '-p', '[::]:43021:80', 'busybox', ...HTTPD]);
    assert.equal(await tryListenV6Only(43021), 'EADDRINUSE');
    assert.equal(await h.tryListen('0.0.0.0', 43021), 'OK');
    assert.match(await h.httpGet('http://[fd31:231:4::1]:43021/'), /^hello-from-/);
    assert.equal(await ok(['port', 'con2-t2']), '80/tcp -> [::]:43021');
  });

  it('-p moves with the network: disconnecting the publishing network drops the forward, the next connect brings it back', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-web'] });
    await ok(['run', '-d', '--name', 'con2-web', '--net', 'con2-a', '--net', 'con2-c', '-p', '127.0.0.1:43030:80', 'busybox', ...HTTPD]);
    assert.match(await h.httpGet('http://127.0.0.1:43030/'), /^hello-from-/);
    await ok(['network', 'disconnect', 'con2-a', 'con2-web']);
    // con2-c (eth1) never carried the ports; the host port stays the container's.
    await assert.rejects(fetch('http://127.0.0.1:43030/', { signal: AbortSignal.timeout(2000) }));
    assert.equal(await h.tryListen('127.0.0.1', 43030), 'EADDRINUSE');
    await ok(['network', 'connect', 'con2-b', 'con2-web']);
    assert.match(await h.httpGet('http://127.0.0.1:43030/'), /^hello-from-/);
    await ok(['rm', '-f', 'con2-web']);
    await untilFree(() => h.tryListen('127.0.0.1', 43030));
  });

  it('two containers sharing an alias both appear in the hosts files under the nerdctl markers; disconnect takes exactly their lines', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-p', 'con2-u1', 'con2-u2'] });
    await ok(['run', '-d', '--name', 'con2-p', '--net', 'con2-b', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'con2-u1', '--net', 'con2-a', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'con2-u2', '--net', 'con2-a', 'busybox', 'sleep', '1000']);
    const hostsBefore = await ok(['exec', 'con2-p', 'cat', '/etc/hosts']);
    await ok(['network', 'connect', '--alias', 'shared', 'con2-b', 'con2-u1']);
    await ok(['network', 'connect', '--alias', 'shared', 'con2-b', 'con2-u2']);
    const hosts = await ok(['exec', 'con2-p', 'cat', '/etc/hosts']);
    const block = hosts.slice(hosts.indexOf('# <nerdctl>'), hosts.indexOf('# </nerdctl>'));
    assert.ok(block.length > 0, hosts);
    const u1 = (await inspect('con2-u1')).NetworkSettings.Networks['con2-b']!.IPAddress;
    const u2 = (await inspect('con2-u2')).NetworkSettings.Networks['con2-b']!.IPAddress;
    const shared = block.split('\n').filter((l) => / shared$/.test(l));
    assert.deepEqual(shared.map((l) => l.split(/\s+/)[0]).sort(), [u1, u2].sort(), block);
    assert.match(block, new RegExp(`^${u1.replaceAll('.', '\\.')}\\s.* con2-u1 con2-u1\\.con2-b shared$`, 'm'));
    await ok(['exec', 'con2-p', 'ping', '-c', '1', '-W', '2', 'shared']);
    // u1 and u2 see p and each other on con2-b.
    await ok(['exec', 'con2-u1', 'ping', '-c', '1', '-W', '2', 'con2-p']);
    assert.match(await ok(['exec', 'con2-u2', 'cat', '/etc/hosts']), /\scon2-u1\.con2-b shared$/m);

    await ok(['network', 'disconnect', 'con2-b', 'con2-u1']);
    const left = (await ok(['exec', 'con2-p', 'cat', '/etc/hosts'])).split('\n').filter((l) => / shared$/.test(l));
    assert.deepEqual(
      left.map((l) => l.split(/\s+/)[0]),
      [u2],
    );
    await ok(['network', 'disconnect', 'con2-b', 'con2-u2']);
    assert.equal(await ok(['exec', 'con2-p', 'cat', '/etc/hosts']), hostsBefore);
  });

  it('a connect that fails halfway and bad input for each new flag leave the host as it was, with one line', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-f1', 'con2-f2', 'con2-bad'] });
    await ok(['run', '-d', '--name', 'con2-f1', '--net', 'con2-full', 'busybox', 'sleep', '1000']); // takes the only address
    await ok(['run', '-d', '--name', 'con2-f2', '--net', 'con2-a', 'busybox', 'sleep', '1000']);
    const scope: HostStateScope = { networks: ['con2-full', 'con2-a', 'con2-b', 'con2-ds'] };
    const baseline = await snapshotHostState(env, scope);
    const state = async () => ({
      ps: await ok(['ps', '-a', '--format', '{{.Names}}']),
      f2: await interfaces('con2-f2'),
      f2hosts: await ok(['exec', 'con2-f2', 'cat', '/etc/hosts']),
      f1hosts: await ok(['exec', 'con2-f1', 'cat', '/etc/hosts']),
      networks: Object.keys((await inspect('con2-f2')).NetworkSettings.Networks),
    });
    const before = await state();

    // The plugin fails after the connect began (no address left): everything it did is undone.
    assert.match(await fails(['network', 'connect', 'con2-full', 'con2-f2']), /no IP addresses available|range/i);
    assert.deepEqual(diffHostState(baseline, await snapshotHostState(env, scope)), []);
    assert.deepEqual(await state(), before);

    const bad: [string[], RegExp][] = [
      [['network', 'connect', '--ip6', 'fd31:231:9::5', 'con2-ds', 'con2-f2'], /fd31:231:9::5/],
      [['network', 'connect', '--ip6', 'fd31:231:4::5', 'con2-a', 'con2-f2'], /fd31:231:4::5|IPv6/],
      [['network', 'connect', '--ip6', 'nope', 'con2-ds', 'con2-f2'], /nope/],
      [['network', 'connect', '--ip6', '10.231.4.9', 'con2-ds', 'con2-f2'], /10\.231\.4\.9/],
      [['network', 'connect', '--ip', '10.231.2.1', 'con2-b', 'con2-f2'], /gateway/],
      [['network', 'connect', '--ip', '10.231.2.300', 'con2-b', 'con2-f2'], /10\.231\.2\.300/],
      [['network', 'connect', '--mac-address', 'zz:zz', 'con2-b', 'con2-f2'], /zz:zz/],
      [['network', 'connect', '--mac-address', '01:00:5e:00:00:01', 'con2-b', 'con2-f2'], /01:00:5e:00:00:01/],
      [['network', 'connect', '--alias', 'bad alias', 'con2-b', 'con2-f2'], /bad alias/],
      [['network', 'connect', '--alias', 'x', 'bridge', 'con2-f2'], /network-scoped alias is supported only/],
      [['network', 'connect', 'con2-a', 'con2-f2'], /already exists in network con2-a/],
      [['network', 'connect', 'con2-b', 'con2-nobody'], /con2-nobody/],
      [['network', 'connect', 'con2-nonet', 'con2-f2'], /no network found matching: "con2-nonet"/],
      [['network', 'connect', 'container:con2-f1', 'con2-f2'], /sharing network namespace/],
      [['network', 'disconnect', 'con2-nonet', 'con2-f2'], /con2-nonet/],
      [['network', 'disconnect', 'con2-b', 'con2-f2'], /is not connected to network con2-b/],
      [['network', 'disconnect', 'con2-a', 'con2-nobody'], /con2-nobody/],
      [['run', '-d', '--name', 'con2-bad', '--net', 'con2-b,ip6=nope', 'busybox', 'true'], /nope/],
      [['run', '-d', '--name', 'con2-bad', '--net', 'con2-b,mac=zz', 'busybox', 'true'], /zz/],
      [['run', '-d', '--name', 'con2-bad', '--net', 'con2-b,alias=', 'busybox', 'true'], /alias/],
      [['run', '-d', '--name', 'con2-bad', '--net', 'con2-b,ip', 'busybox', 'true'], /ip/],
      [['run', '-d', '--name', 'con2-bad', '--net', 'con2-ds,ip6=fd31:231:9::9', 'busybox', 'true'], /fd31:231:9::9/],
      [
        ['run', '-d', '--name', 'con2-bad', '--net', 'con2-b,ip=10.231.2.9', '--ip', '10.231.2.8', 'busybox', 'true'],
        /conflicting options/,
      ],
      [['run', '-d', '--name', 'con2-bad', '--net', 'con2-full', '--ip', '10.231.5.2', 'busybox', 'true'], /in use|con2-f1/],
    ];
    for (const [args, message] of bad) assert.match(await fails(args), message, args.join(' '));
    assert.deepEqual(diffHostState(baseline, await snapshotHostState(env, scope)), []);
    assert.deepEqual(await state(), before);
  });

  it('disconnect -f detaches from a network whose file is gone (from the CNI cache); without -f one line', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-g'] });
    await ok(['network', 'create', 'con2-tmp', '--subnet', '10.231.6.0/24']);
    const file = join(env.netconfPath, env.namespace, 'nerdctl-con2-tmp.conflist');
    const bridge = (JSON.parse(await readFile(file, 'utf8')) as { plugins: { bridge: string }[] }).plugins[0]!.bridge;
    t.after(async () => {
      await tsnerd(env, ['network', 'rm', 'con2-tmp']);
      await deleteBridge(bridge); // this test's bridge, left when its file went by hand
    });
    await ok(['run', '-d', '--name', 'con2-g', '--net', 'con2-a', 'busybox', 'sleep', '1000']);
    await ok(['network', 'connect', 'con2-tmp', 'con2-g']);
    assert.deepEqual(await interfaces('con2-g'), ['eth0', 'eth1', 'lo']);
    await rm(file);
    assert.match(await fails(['network', 'disconnect', 'con2-tmp', 'con2-g']), /no network found matching: "con2-tmp"/);
    await ok(['network', 'disconnect', '-f', 'con2-tmp', 'con2-g']);
    assert.deepEqual(await interfaces('con2-g'), ['eth0', 'lo']);
    assert.deepEqual(await h.allocations('con2-tmp'), []);
    assert.deepEqual(Object.keys((await inspect('con2-g')).NetworkSettings.Networks), ['con2-a']);
    await ok(['network', 'disconnect', '-f', 'con2-tmp', 'con2-g']); // again: nothing to do, no error
  });

  it('a container that exits on its own gives back its connected network too (the port holder runs the teardown)', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-e', 'con2-r'] });
    const scope: HostStateScope = { networks: ['con2-a', 'con2-b'] };
    await ok(['run', '-d', '--name', 'con2-r', '--net', 'con2-b', 'busybox', 'sleep', '1000']);
    const baseline = await snapshotHostState(env, scope);
    await ok(['run', '-d', '--name', 'con2-e', '--net', 'con2-a', 'busybox', 'sh', '-c', 'sleep 4']);
    await ok(['network', 'connect', '--alias', 'gone', 'con2-b', 'con2-e']);
    await ok(['exec', 'con2-r', 'ping', '-c', '1', '-W', '2', 'gone']);
    const id = (await inspect('con2-e')).Id;
    const kinds = ['veths', 'iptables-rules', 'iptables-chains', 'host-local', 'cni-cache', 'hosts-lines'] as const;
    let diff: string[] = [];
    for (let i = 0; i < 100; i++) {
      const now = await snapshotHostState(env, scope);
      // Its own hosts file stays until rm (as after stop); its lines in the peers' files go.
      diff = diffHostState(baseline, now).filter((d) => kinds.some((k) => d.startsWith(`${k}:`)) && !d.includes(`/${id}/hosts:`));
      if (diff.length === 0) break;
      await sleep(200);
    }
    assert.deepEqual(diff, [], 'everything of con2-e on con2-a and con2-b went after its exit');
    assert.doesNotMatch(await ok(['exec', 'con2-r', 'cat', '/etc/hosts']), /\bgone\b|con2-e/);
    // start attaches both networks again.
    await ok(['start', 'con2-e']);
    await ok(['exec', 'con2-r', 'ping', '-c', '1', '-W', '2', 'gone']);
  });

  it('stop, start, a reboot with network gc, and rm -f handle a connected network like one given at run', async (t) => {
    h.removeAfter(t, env, { containers: ['con2-s', 'con2-q'] });
    const scope: HostStateScope = { networks: ['con2-a', 'con2-b'], ports: [43010, 43019] };
    // The bridges exist (earlier attachments made them); the baseline is taken with no container on these networks.
    await ok(['run', '--rm', '--net', 'con2-a', '--net', 'con2-b', 'busybox', 'true']);
    const baseline = await snapshotHostState(env, scope);
    await ok(['run', '-d', '--name', 'con2-s', '--net', 'con2-a', '-p', '127.0.0.1:43010:80', 'busybox', ...HTTPD]);
    await ok(['run', '-d', '--name', 'con2-q', '--net', 'con2-b', 'busybox', 'sleep', '1000']);
    await ok(['network', 'connect', '--alias', 'zed', 'con2-b', 'con2-s']);
    await ok(['exec', 'con2-q', 'ping', '-c', '1', '-W', '2', 'zed']);
    const onB = (await h.allocations('con2-b')).length;

    await ok(['stop', '-t', '0', 'con2-s']);
    assert.equal((await h.allocations('con2-b')).length, onB - 1, 'stop gives the connected address back');
    assert.doesNotMatch(await ok(['exec', 'con2-q', 'cat', '/etc/hosts']), /\bzed\b|con2-s/);
    await ok(['start', 'con2-s']);
    assert.deepEqual(await interfaces('con2-s'), ['eth0', 'eth1', 'lo']);
    await ok(['exec', 'con2-q', 'ping', '-c', '1', '-W', '2', 'zed']);
    assert.match(await h.httpGet('http://127.0.0.1:43010/'), /^hello-from-/);

    // A reboot: no postStop for either; network gc releases both attachments of con2-s and q's: after it
    // the networks hold what they held with no container on them (the records stay until rm).
    await simulateReboot(env);
    const cachedBefore = (await snapshotHostState(env, scope))['cni-cache'];
    const gc = await ok(['network', 'gc', '--format', 'json']);
    const released = gc
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Kind: string; Item: string; Container: string })
      .filter((k) => k.Kind === 'cni-attachment');
    // What gc listed against what the cache held before it (diagnosis: which attachment was gone already).
    console.log(
      `# cache before gc: ${cachedBefore.join(' | ')}; gc released: ${released.map((r) => `${r.Container} ${r.Item}`).join(' | ')}`,
    );
    const networkState = ['veths', 'iptables-rules', 'iptables-chains', 'host-local', 'cni-cache', 'listening'];
    const left = diffHostState(baseline, await snapshotHostState(env, scope)).filter((l) => networkState.includes(l.split(':')[0]!));
    assert.deepEqual(left, [], `after gc:\n${gc}`);
    assert.ok(released.length >= 1, gc);
    await h.secondGcFindsNothing(env);
    await ok(['rm', '-f', 'con2-s', 'con2-q']);
    assert.deepEqual(await waitForHostState(env, scope, baseline), []);

    // connect; disconnect; connect; rm -f leaves nothing either.
    await ok(['run', '-d', '--name', 'con2-s', '--net', 'con2-a', '-p', '127.0.0.1:43011:80', 'busybox', ...HTTPD]);
    await ok(['network', 'connect', 'con2-b', 'con2-s']);
    await ok(['network', 'disconnect', 'con2-b', 'con2-s']);
    await ok(['network', 'connect', '--alias', 'zed', 'con2-b', 'con2-s']);
    await ok(['rm', '-f', 'con2-s']);
    assert.deepEqual(await waitForHostState(env, scope, baseline), []);
  });
});
