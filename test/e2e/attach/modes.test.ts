/**
 * Network modes and network lifecycle with real containers: default network
 * creation, rm/prune/inspect of networks in use, several networks, container:
 * sharing, identity flags, macvlan/ipvlan, IPv6, restart and failed runs.
 * Resources of this file: names t-md-*, parent links tmod-*, networks in
 * 10.220.0.0/16 (and fd00:10:220::/64), no host ports; traffic goes only to
 * container IPs. Every test removes its containers and networks in t.after.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname, networkInterfaces } from 'node:os';
import { execa } from 'execa';
import * as h from '../harness.ts';
import { allocations, importTestImage, linkExists, removeAfter, startEnv, type TestEnv } from '../harness.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';

let env: TestEnv;

const ok = (args: string[]) => h.ok(env, args);
const fails = (args: string[]) => h.fails(env, args);
const inspectContainer = (name: string) => h.inspectContainer(env, name);
const ipv4Of = (name: string, ifName = 'eth0') => h.ipv4Of(env, name, ifName);
const cleanup = (t: TestContext, what: { containers?: string[]; networks?: string[] }) => removeAfter(t, env, what);
const inspectNetwork = async (name: string) =>
  (
    JSON.parse(await ok(['network', 'inspect', name])) as {
      Id: string;
      Containers: Record<string, { Name: string; MacAddress: string; IPv4Address: string }>;
    }[]
  )[0]!;
const networkNames = async () => (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n').filter(Boolean);
const storeRoot = async () => new StoreLayout(env.dataRoot, env.address).root; // not readdir's first: the servers' dirs are there too
const entries = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((e) => !e.startsWith('.')).sort();
const cacheEntries = async () =>
  (await readdir('/var/lib/cni/results').catch(() => [] as string[])).filter((f) => f.includes(`-${env.namespace}-`));
const portsOfBridge = async (bridge: string) => {
  const r = await execa('ip', ['-j', 'link', 'show', 'master', bridge], { reject: false });
  return r.exitCode === 0 ? (JSON.parse(String(r.stdout) || '[]') as unknown[]).length : 0;
};
/** A parent link for macvlan/ipvlan, removed after the test: a dummy, or one end of a veth pair on kernels built without dummy. */
const addParentLink = async (t: TestContext, link: string) => {
  t.after(() => execa('ip', ['link', 'del', 'dev', link], { reject: false }));
  const dummy = await execa('ip', ['link', 'add', link, 'type', 'dummy'], { reject: false });
  if (dummy.exitCode !== 0) await execa('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`]);
  await execa('ip', ['link', 'set', link, 'up']);
};
/** Whether the kernel can make a link of this type on `parent` (ipvlan is often not built in). */
const kernelSupports = async (type: string, parent: string) => {
  const probe = `${parent}x`;
  const r = await execa('ip', ['link', 'add', 'link', parent, 'name', probe, 'type', type], { reject: false });
  await execa('ip', ['link', 'del', 'dev', probe], { reject: false });
  return r.exitCode === 0;
};

describe('network modes and lifecycle (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    env = await startEnv('t-modes');
    await importTestImage(env);
  });
  after(async () => {
    await env?.stop();
  });

  it('lists host and none on a fresh conf dir, and bridge after the first container', async () => {
    // fresh: without the default network another test of this file may have made
    await rm(join(env.netconfPath, 'nerdctl-bridge.conflist'), { force: true });
    assert.deepEqual(await networkNames(), ['host', 'none']);
    await ok(['run', '--rm', 'busybox', 'true']);
    assert.deepEqual(await networkNames(), ['bridge', 'host', 'none']);
  });

  it('refuses network rm while a running container uses it, then removes it and its bridge', async (t) => {
    cleanup(t, { containers: ['t-md-rm1'], networks: ['t-md-rm'] });
    await ok(['network', 'create', 't-md-rm', '--subnet', '10.220.1.0/24']);
    const netId = (await inspectNetwork('t-md-rm')).Id;
    await ok(['run', '-d', '--name', 't-md-rm1', '--net', 't-md-rm', '--mac-address', '02:42:0a:ce:01:0a', 'busybox', 'sleep', '1000']);
    const ctr = await inspectContainer('t-md-rm1');
    const ip = await ipv4Of('t-md-rm1');

    // Docker's endpoint ID, the same in both inspects
    assert.match(ctr.NetworkSettings.Networks['t-md-rm']!.EndpointID, /^[0-9a-f]{64}$/);
    const containers = (await inspectNetwork('t-md-rm')).Containers;
    assert.deepEqual(containers, {
      [ctr.Id]: {
        Name: 't-md-rm1',
        EndpointID: ctr.NetworkSettings.Networks['t-md-rm']!.EndpointID,
        MacAddress: '02:42:0a:ce:01:0a',
        IPv4Address: `${ip}/24`,
        IPv6Address: '',
      },
    });

    const err = await fails(['network', 'rm', 't-md-rm']);
    assert.equal(err, `network "t-md-rm" is in use by container "[${ctr.Id}]"`);
    assert.ok(await linkExists(`br-${netId.slice(0, 12)}`));

    await ok(['rm', '-f', 't-md-rm1']);
    assert.equal(await ok(['network', 'rm', 't-md-rm']), 't-md-rm');
    assert.ok(!(await networkNames()).includes('t-md-rm'));
    assert.ok(!(await linkExists(`br-${netId.slice(0, 12)}`)), 'the bridge link is gone');
  });

  it('prunes networks without running containers; stopped containers do not pin', async (t) => {
    cleanup(t, { containers: ['t-md-p1c', 't-md-p2c'], networks: ['t-md-p1', 't-md-p2', 't-md-p3'] });
    for (const [n, i] of [
      ['t-md-p1', 2],
      ['t-md-p2', 3],
      ['t-md-p3', 4],
    ] as const) {
      await ok(['network', 'create', n, '--subnet', `10.220.${i}.0/24`]);
    }
    await ok(['run', '-d', '--name', 't-md-p1c', '--net', 't-md-p1', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 't-md-p2c', '--net', 't-md-p2', 'busybox', 'sleep', '1000']);
    await ok(['stop', '-t', '1', 't-md-p2c']);
    const out = (await ok(['network', 'prune', '-f'])).split('\n');
    assert.ok(out.includes('t-md-p2') && out.includes('t-md-p3'), out.join('\n'));
    assert.ok(!out.includes('t-md-p1'), out.join('\n'));
    const left = await networkNames();
    assert.ok(left.includes('t-md-p1') && left.includes('bridge'));
    assert.ok(!left.includes('t-md-p2') && !left.includes('t-md-p3'));
    // The stopped container's network is gone: removing it must still work.
    await ok(['rm', '-f', 't-md-p1c', 't-md-p2c']);
    await ok(['network', 'rm', 't-md-p1']);
    assert.deepEqual(await allocations('t-md-p2'), []);
  });

  it('attaches --net a --net b as eth0 and eth1, with hosts entries for peers on both', async (t) => {
    cleanup(t, { containers: ['t-md-x1', 't-md-x2', 't-md-x3'], networks: ['t-md-a', 't-md-b'] });
    await ok(['network', 'create', 't-md-a', '--subnet', '10.220.5.0/24']);
    await ok(['network', 'create', 't-md-b', '--subnet', '10.220.6.0/24']);
    await ok(['run', '-d', '--name', 't-md-x1', '--net', 't-md-a', '--net', 't-md-b', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 't-md-x2', '--net', 't-md-a', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 't-md-x3', '--net', 't-md-b', 'busybox', 'sleep', '1000']);
    const x1a = await ipv4Of('t-md-x1', 'eth0');
    const x1b = await ipv4Of('t-md-x1', 'eth1');
    assert.match(x1a, /^10\.220\.5\.\d+$/);
    assert.match(x1b, /^10\.220\.6\.\d+$/);

    const esc = (s: string) => s.replaceAll('.', '\\.');
    const h1 = await ok(['exec', 't-md-x1', 'cat', '/etc/hosts']);
    assert.match(h1, new RegExp(`^${esc(await ipv4Of('t-md-x2'))}\\s+.* t-md-x2 t-md-x2\\.t-md-a$`, 'm'));
    assert.match(h1, new RegExp(`^${esc(await ipv4Of('t-md-x3'))}\\s+.* t-md-x3 t-md-x3\\.t-md-b$`, 'm'));
    assert.match(await ok(['exec', 't-md-x2', 'cat', '/etc/hosts']), new RegExp(`^${esc(x1a)}\\s+.*\\bt-md-x1\\.t-md-a\\b`, 'm'));
    const h3 = await ok(['exec', 't-md-x3', 'cat', '/etc/hosts']);
    assert.match(h3, new RegExp(`^${esc(x1b)}\\s+.*\\bt-md-x1\\.t-md-b\\b`, 'm'));
    assert.doesNotMatch(h3, /t-md-x2/, 'x3 shares no network with x2');
    await ok(['exec', 't-md-x2', 'ping', '-c', '1', '-W', '2', 't-md-x1']);
    await ok(['exec', 't-md-x3', 'ping', '-c', '1', '-W', '2', 't-md-x1']);

    const nets = (await inspectContainer('t-md-x1')).NetworkSettings.Networks;
    assert.deepEqual(Object.keys(nets).sort(), ['t-md-a', 't-md-b']);
    assert.equal(nets['t-md-a']!.IPAddress, x1a);
    assert.equal(nets['t-md-b']!.IPAddress, x1b);
    await ok(['rm', '-f', 't-md-x2', 't-md-x3']);

    // --ip goes to the first network only (docs/compat.md): nerdctl would send it to both and fail on t-md-b.
    const out = await ok(['run', '--rm', '--net', 't-md-a', '--net', 't-md-b', '--ip', '10.220.5.77', 'busybox', 'ip', '-o', '-4', 'addr']);
    assert.match(out, /eth0\s+inet 10\.220\.5\.77\/24/);
    assert.match(out, /eth1\s+inet 10\.220\.6\.\d+\/24/);
  });

  it('--net container: shares the target netns, hosts and resolv.conf; -p and --dns conflict and create nothing', async (t) => {
    cleanup(t, { containers: ['t-md-c1', 't-md-c2'], networks: ['t-md-cnet'] });
    await ok(['network', 'create', 't-md-cnet', '--subnet', '10.220.13.0/24']);
    await ok(['run', '-d', '--name', 't-md-c1', '--net', 't-md-cnet', '--dns', '10.220.0.53', 'busybox', 'sleep', '1000']);
    const ip = await ipv4Of('t-md-c1');
    const out = await ok([
      'run',
      '--rm',
      '--net',
      'container:t-md-c1',
      'busybox',
      'sh',
      '-c',
      'ip -o -4 addr show eth0; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname',
    ]);
    const [addr, hosts, resolv] = out.split('\n---\n');
    assert.match(addr!, new RegExp(`inet ${ip.replaceAll('.', '\\.')}/24`));
    assert.equal(hosts!.trim(), (await ok(['exec', 't-md-c1', 'cat', '/etc/hosts'])).trim());
    assert.equal(resolv!.trim(), (await ok(['exec', 't-md-c1', 'cat', '/etc/resolv.conf'])).trim());
    assert.match(resolv!, /nameserver 10\.220\.0\.53/);

    const root = await storeRoot();
    const snapshot = async () => ({
      ps: await ok(['ps', '-aq']),
      names: await entries(join(root, 'names', env.namespace)),
      containers: await entries(join(root, 'containers', env.namespace)),
      etchosts: await entries(join(root, 'etchosts', env.namespace)),
    });
    const before = await snapshot();
    assert.equal(
      await fails(['run', '-d', '--name', 't-md-c2', '--net', 'container:t-md-c1', '-p', '8080:80', 'busybox', 'true']),
      'conflicting options: the following arguments are not supported when using --network=container:t-md-c1: [--publish]',
    );
    assert.equal(
      await fails(['run', '-d', '--name', 't-md-c2', '--net', 'container:t-md-c1', '--dns', '1.1.1.1', 'busybox', 'true']),
      'conflicting options: the following arguments are not supported when using --network=container:t-md-c1: [--dns]',
    );
    assert.deepEqual(await snapshot(), before);
    await ok(['rm', '-f', 't-md-c1']);
  });

  it('honours --mac-address, -h, --domainname, --uts host and --add-host host-gateway', async (t) => {
    cleanup(t, { containers: ['t-md-h1'] });
    const mac = await ok(['run', '--rm', '--mac-address', '02:42:0a:ce:00:99', 'busybox', 'cat', '/sys/class/net/eth0/address']);
    assert.equal(mac, '02:42:0a:ce:00:99');

    const out = await ok([
      'run',
      '--rm',
      '--name',
      't-md-h1',
      '-h',
      'myhost',
      '--domainname',
      'example.com',
      'busybox',
      'sh',
      '-c',
      'hostname; cat /etc/hostname; hostname -d; hostname -f; cat /etc/hosts',
    ]);
    const [name, file, domain, fqdn, ...hosts] = out.split('\n');
    assert.equal(name, 'myhost');
    assert.equal(file, 'myhost');
    assert.equal(domain, 'example.com');
    assert.equal(fqdn, 'myhost.example.com');
    assert.match(hosts.join('\n'), /^10\.4\.0\.\d+\s+myhost\.example\.com myhost t-md-h1$/m);

    assert.equal(await ok(['run', '--rm', '--uts', 'host', 'busybox', 'hostname']), hostname());
    await fails(['run', '--rm', '--uts', 'host', '-h', 'x', 'busybox', 'true']);

    const gateway = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    assert.ok(gateway, 'the host has a non-loopback IPv4 address');
    const gwHosts = await ok(['run', '--rm', '--add-host', 'gw:host-gateway', 'busybox', 'cat', '/etc/hosts']);
    assert.match(gwHosts, new RegExp(`^${gateway.replaceAll('.', '\\.')}\\s+gw$`, 'm'));
  });

  it('runs a container on a macvlan network over a parent link the test made', async (t) => {
    cleanup(t, { networks: ['t-md-mv', 't-md-ivmac'] });
    await addParentLink(t, 'tmod-mv0');
    await ok(['network', 'create', '-d', 'macvlan', '-o', 'parent=tmod-mv0', '--subnet', '10.220.7.0/24', 't-md-mv']);
    const mv = await ok([
      'run',
      '--rm',
      '--net',
      't-md-mv',
      '--mac-address',
      '02:42:0a:ce:07:07',
      'busybox',
      'sh',
      '-c',
      'ip -o -4 addr show eth0; cat /sys/class/net/eth0/address',
    ]);
    assert.match(mv, /inet 10\.220\.7\.\d+\/24/);
    assert.match(mv, /^02:42:0a:ce:07:07$/m);
    assert.deepEqual(await allocations('t-md-mv'), []);
    await ok(['network', 'rm', 't-md-mv']);

    // ipvlan interfaces share the parent's MAC: refused at create time, whether or not the kernel has ipvlan.
    await ok(['network', 'create', '-d', 'ipvlan', '-o', 'parent=tmod-mv0', '--subnet', '10.220.12.0/24', 't-md-ivmac']);
    assert.equal(
      await fails(['run', '--rm', '--net', 't-md-ivmac', '--mac-address', '02:42:0a:ce:0c:0c', 'busybox', 'true']),
      'network type "ipvlan" is not supported with --mac-address: only bridge and macvlan are',
    );
    await ok(['network', 'rm', 't-md-ivmac']);
    assert.ok(await linkExists('tmod-mv0'), 'removing a macvlan network leaves its parent alone');
  });

  it('runs a container on an ipvlan network', async (t) => {
    cleanup(t, { networks: ['t-md-iv'] });
    await addParentLink(t, 'tmod-mv1');
    if (!(await kernelSupports('ipvlan', 'tmod-mv1'))) {
      t.skip('this kernel has no ipvlan support (ip link add type ipvlan: unknown device type)');
      return;
    }
    await ok(['network', 'create', '-d', 'ipvlan', '-o', 'parent=tmod-mv1', '--subnet', '10.220.8.0/24', 't-md-iv']);
    const iv = await ok(['run', '--rm', '--net', 't-md-iv', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
    assert.match(iv, /inet 10\.220\.8\.\d+\/24/);
    assert.deepEqual(await allocations('t-md-iv'), []);
    await ok(['network', 'rm', 't-md-iv']);
  });

  it('gives --ip6 on a dual-stack network', async (t) => {
    cleanup(t, { containers: ['t-md-v6c'], networks: ['t-md-v6'] });
    const disabled = (await readFile('/proc/sys/net/ipv6/conf/default/disable_ipv6', 'utf8').catch(() => '1')).trim();
    if (disabled !== '0') {
      t.skip('IPv6 is disabled on this kernel (net.ipv6.conf.default.disable_ipv6 != 0)');
      return;
    }
    await ok(['network', 'create', '--ipv6', '--subnet', 'fd00:10:220::/64', '--subnet', '10.220.9.0/24', 't-md-v6']);
    await ok(['run', '-d', '--name', 't-md-v6c', '--net', 't-md-v6', '--ip6', 'fd00:10:220::50', 'busybox', 'sleep', '1000']);
    assert.match(await ok(['exec', 't-md-v6c', 'ip', '-o', '-6', 'addr', 'show', 'eth0']), /inet6 fd00:10:220::50\/64/);
    assert.match(await ipv4Of('t-md-v6c'), /^10\.220\.9\.\d+$/);
    assert.equal((await inspectContainer('t-md-v6c')).NetworkSettings.Networks['t-md-v6']!.GlobalIPv6Address, 'fd00:10:220::50');
    await ok(['rm', '-f', 't-md-v6c']);
    assert.deepEqual(await allocations('t-md-v6'), []);
  });

  it('gets an address again after stop and start, listed in peers’ hosts, with no duplicate allocation', async (t) => {
    cleanup(t, { containers: ['t-md-r1', 't-md-r2'], networks: ['t-md-rst'] });
    await ok(['network', 'create', 't-md-rst', '--subnet', '10.220.10.0/24']);
    await ok(['run', '-d', '--name', 't-md-r1', '--net', 't-md-rst', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 't-md-r2', '--net', 't-md-rst', 'busybox', 'sleep', '1000']);
    assert.equal((await allocations('t-md-rst')).length, 2);
    await ok(['stop', '-t', '1', 't-md-r1']);
    assert.equal((await allocations('t-md-rst')).length, 1, 'stop releases the address');
    assert.doesNotMatch(await ok(['exec', 't-md-r2', 'cat', '/etc/hosts']), /t-md-r1/, 'and peers stop resolving it');
    await ok(['start', 't-md-r1']);
    const ip = await ipv4Of('t-md-r1');
    assert.match(ip, /^10\.220\.10\.\d+$/);
    assert.equal((await allocations('t-md-rst')).length, 2);
    assert.match(await ok(['exec', 't-md-r2', 'cat', '/etc/hosts']), new RegExp(`^${ip.replaceAll('.', '\\.')}\\s+.*\\bt-md-r1\\b`, 'm'));
    const hosts = await ok(['exec', 't-md-r2', 'cat', '/etc/hosts']);
    assert.equal(hosts.split('\n').filter((l) => /\st-md-r1\b/.test(l)).length, 1, 'one entry for r1');
    await ok(['exec', 't-md-r2', 'ping', '-c', '1', '-W', '2', 't-md-r1']);
    await ok(['rm', '-f', 't-md-r1', 't-md-r2']);
    assert.deepEqual(await allocations('t-md-rst'), []);
  });

  it('leaves nothing behind after a failed run', async (t) => {
    cleanup(t, { containers: ['t-md-f1'], networks: ['t-md-fail'] });
    await ok(['network', 'create', 't-md-fail', '--subnet', '10.220.11.0/24']);
    const bridge = `br-${(await inspectNetwork('t-md-fail')).Id.slice(0, 12)}`;
    const root = await storeRoot();
    const snapshot = async () => ({
      ps: await ok(['ps', '-aq']),
      names: await entries(join(root, 'names', env.namespace)),
      containers: await entries(join(root, 'containers', env.namespace)),
      etchosts: await entries(join(root, 'etchosts', env.namespace)),
      cache: await cacheEntries(),
      allocations: await allocations('t-md-fail'),
      ports: await portsOfBridge(bridge),
    });
    const before = await snapshot();
    const unknown = await fails(['run', '-d', '--name', 't-md-f1', '--net', 'nosuchnet', 'busybox', 'sleep', '1000']);
    assert.equal(unknown.split('\n').length, 1, unknown);
    assert.match(unknown, /nosuchnet/);
    assert.deepEqual(await snapshot(), before);

    const outside = await fails([
      'run',
      '-d',
      '--name',
      't-md-f1',
      '--net',
      't-md-fail',
      '--ip',
      '10.220.99.9',
      'busybox',
      'sleep',
      '1000',
    ]);
    assert.equal(outside.split('\n').length, 1, outside);
    assert.deepEqual(await snapshot(), before);
    // In the foreground too, and without hanging on the stdio FIFOs.
    const started = Date.now();
    const again = await fails(['run', '--rm', '--name', 't-md-f1', '--net', 't-md-fail', '--ip', '10.220.99.9', 'busybox', 'true']);
    assert.match(again, /10\.220\.99\.9/);
    assert.ok(Date.now() - started < 30_000, `failed foreground run took ${Date.now() - started} ms`);
    assert.deepEqual(await snapshot(), before);

    // The failed ADDs left the new bridge portless with a zero MAC: the next container still gets on.
    assert.match(
      await ok(['run', '--rm', '--net', 't-md-fail', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']),
      /inet 10\.220\.11\.\d+\/24/,
    );
    assert.deepEqual(await allocations('t-md-fail'), []);
  });
});
