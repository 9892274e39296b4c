/**
 * `run --net …` end to end: real containerd, runc, CNI plugins and iptables.
 * Resources of this file: networks t-nr-* in 10.221.0.0/16, the hand-written
 * network's bridge tnr-hnd1, no host ports; traffic goes only to container IPs.
 * Every test removes its containers and networks in t.after.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { execa } from 'execa';
import * as h from '../harness.ts';
import { deleteBridge } from '../helpers.ts';
import { allocations, importTestImage, lines, removeAfter, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';

let env: TestEnv;
const ok = (args: string[]) => h.ok(env, args);
const ipOf = (name: string, net?: string) => h.ipOf(env, name, net);
const cleanup = (t: TestContext, what: { containers?: string[]; networks?: string[] }) => removeAfter(t, env, what);
const HTTPD = ['sh', '-c', 'echo hello-from-$(hostname) > /tmp/index.html && exec httpd -f -p 80 -h /tmp'];

describe('run --net (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    env = await startEnv('t-netrun');
    await importTestImage(env);
  });
  after(async () => {
    await env?.stop();
  });

  it('serves httpd on the default bridge at the container IP, routed via the gateway', async (t) => {
    cleanup(t, { containers: ['web'] });
    await ok(['run', '-d', '--name', 'web', 'busybox', ...HTTPD]);
    const ip = await ipOf('web');
    assert.match(ip, /^10\.4\.0\.\d+$/);
    const body = await (await fetch(`http://${ip}/`)).text();
    assert.match(body, /^hello-from-/);
    assert.match(await ok(['exec', 'web', 'ip', 'route']), /^default via 10\.4\.0\.1 dev eth0/m);
    await ok(['rm', '-f', 'web']);
  });

  it('puts a container on a custom subnet, honours --ip, and rejects an --ip outside cleanly', async (t) => {
    cleanup(t, { containers: ['a1', 'a-bad'], networks: ['t-nr-a'] });
    await ok(['network', 'create', 't-nr-a', '--subnet', '10.221.1.0/24']);
    await ok(['run', '-d', '--name', 'a1', '--net', 't-nr-a', '--ip', '10.221.1.50', 'busybox', 'sleep', '1000']);
    assert.match(await ok(['exec', 'a1', 'ip', '-o', '-4', 'addr', 'show', 'eth0']), /inet 10\.221\.1\.50\/24/);
    const before = await ok(['ps', '-a', '-q']);
    const bad = await tsnerd(env, ['run', '-d', '--name', 'a-bad', '--net', 't-nr-a', '--ip', '10.221.9.9', 'busybox', 'true']);
    assert.notEqual(bad.exitCode, 0);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.equal(await ok(['ps', '-a', '-q']), before);
    const again = await tsnerd(env, ['run', '-d', '--name', 'a-bad', '--net', 't-nr-a', 'busybox', 'sleep', '1000']);
    assert.equal(again.exitCode, 0, 'the name of the failed run was released');
    await ok(['rm', '-f', 'a1', 'a-bad']);
  });

  it('lets containers on one network find each other by name and hostname, and not from another network', async (t) => {
    cleanup(t, { containers: ['b1', 'b2', 'b3'], networks: ['t-nr-a2', 't-nr-b'] });
    await ok(['network', 'create', 't-nr-a2', '--subnet', '10.221.7.0/24']);
    await ok(['network', 'create', 't-nr-b', '--subnet', '10.221.2.0/24']);
    await ok(['run', '-d', '--name', 'b1', '-h', 'host-b1', '--net', 't-nr-a2', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'b2', '--net', 't-nr-a2', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'b3', '--net', 't-nr-b', 'busybox', 'sleep', '1000']);
    for (const target of ['b1', 'host-b1', 'b1.t-nr-a2', 'host-b1.t-nr-a2']) {
      await ok(['exec', 'b2', 'ping', '-c', '1', '-W', '2', target]);
    }
    const hosts = await ok(['exec', 'b1', 'cat', '/etc/hosts']);
    assert.match(hosts, /\sb2 b2\.t-nr-a2/);
    const other = await tsnerd(env, ['exec', 'b3', 'ping', '-c', '1', '-W', '1', 'b1']);
    assert.notEqual(other.exitCode, 0);
    const b1ip = await ipOf('b1');
    const reach = await tsnerd(env, ['exec', 'b3', 'ping', '-c', '1', '-W', '1', b1ip]);
    assert.notEqual(reach.exitCode, 0, 'networks are isolated');
    await ok(['rm', '-f', 'b1', 'b2', 'b3']);
  });

  it('gives --internal networks no default route', async (t) => {
    cleanup(t, { networks: ['t-nr-int'] });
    await ok(['network', 'create', 't-nr-int', '--internal', '--subnet', '10.221.3.0/24']);
    const routes = await ok(['run', '--rm', '--net', 't-nr-int', 'busybox', 'ip', 'route']);
    assert.doesNotMatch(routes, /default/);
    assert.match(routes, /10\.221\.3\.0\/24/);
  });

  it('uses a hand-written single-plugin .conf network together with 99-loopback.conf', async (t) => {
    const files = [join(env.netconfPath, '10-t-nr-hand.conf'), join(env.netconfPath, '99-loopback.conf')];
    t.after(async () => {
      for (const f of files) await rm(f, { force: true });
      await deleteBridge('tnr-hnd1'); // the bridge plugin made it for this network
    });
    await writeFile(
      files[0]!,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 't-nr-hand',
        type: 'bridge',
        bridge: 'tnr-hnd1',
        isGateway: true,
        ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.221.4.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
      }),
    );
    await writeFile(files[1]!, JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' }));
    const out = await ok(['run', '--rm', '--net', 't-nr-hand', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
    assert.match(out, /inet 10\.221\.4\.\d+\/24/);
  });

  it('writes --dns, --dns-search, --dns-opt and --add-host into resolv.conf and hosts', async () => {
    const args = ['--dns', '9.9.9.9', '--dns-search', 'example.com', '--dns-opt', 'ndots:2', '--add-host', 'foo:10.9.9.9'];
    const resolv = await ok(['run', '--rm', ...args, 'busybox', 'cat', '/etc/resolv.conf']);
    assert.equal(resolv, 'search example.com\nnameserver 9.9.9.9\noptions ndots:2');
    const hosts = await ok(['run', '--rm', ...args, 'busybox', 'cat', '/etc/hosts']);
    assert.match(hosts, /^10\.9\.9\.9\s+foo$/m);
  });

  it('--net none has only lo; --net host sees the host interfaces and hostname', async () => {
    assert.equal(await ok(['run', '--rm', '--net', 'none', 'busybox', 'ls', '/sys/class/net']), 'lo');
    // the host's network namespace itself, and the links that are there before and after (other runs come and go)
    const hostNetns = await readlink('/proc/self/ns/net');
    const before = await readdir('/sys/class/net');
    const [netns, ...links] = (
      await ok(['run', '--rm', '--net', 'host', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/net; ls /sys/class/net'])
    ).split('\n');
    const after = await readdir('/sys/class/net');
    assert.equal(netns, hostNetns);
    for (const link of before.filter((l) => after.includes(l))) assert.ok(links.includes(link), `${link} in ${links.join(' ')}`);
    assert.equal(await ok(['run', '--rm', '--net', 'host', 'busybox', 'hostname']), hostname());
  });

  it('gives 16 concurrent containers distinct IPs and lists all 16 names in every hosts file', async (t) => {
    const names = Array.from({ length: 16 }, (_, i) => `c${i}`);
    cleanup(t, { containers: names, networks: ['t-nr-c'] });
    await ok(['network', 'create', 't-nr-c', '--subnet', '10.221.5.0/24']);
    await Promise.all(names.map((n) => ok(['run', '-d', '--name', n, '--net', 't-nr-c', 'busybox', 'sleep', '1000'])));
    const ips = await Promise.all(names.map((n) => ipOf(n)));
    assert.equal(new Set(ips).size, 16);
    for (const n of names) {
      const hosts = await ok(['exec', n, 'cat', '/etc/hosts']);
      for (const other of names) assert.match(hosts, new RegExp(`\\s${other} ${other}\\.t-nr-c`), `${n} lists ${other}`);
    }
    await ok(['rm', '-f', ...names]);
  });

  it('leaks nothing after 100 run --rm cycles on a custom network', async (t) => {
    cleanup(t, { networks: ['t-nr-leak'] });
    await ok(['network', 'create', 't-nr-leak', '--subnet', '10.221.6.0/24']);
    const netId = (JSON.parse(await ok(['network', 'inspect', 't-nr-leak'])) as { Id: string }[])[0]!.Id;
    for (let i = 0; i < 100; i++) await ok(['run', '--rm', '--net', 't-nr-leak', 'busybox', 'true']);
    // other test runs add and remove veths on this machine meanwhile: count the ones on this network's bridge
    const ports = await execa('ip', ['-j', 'link', 'show', 'master', `br-${netId.slice(0, 12)}`]);
    assert.deepEqual(
      (JSON.parse(String(ports.stdout) || '[]') as { ifname: string }[]).map((p) => p.ifname),
      [],
    );
    assert.deepEqual(await allocations('t-nr-leak'), []);
    const cache = (await readdir('/var/lib/cni/results').catch(() => [] as string[])).filter((f) =>
      f.startsWith(`t-nr-leak-${env.namespace}-`),
    );
    assert.deepEqual(cache, []);
    const rules = lines((await execa('iptables-save')).stdout).filter((l) => l.includes(`id: \\"${env.namespace}-`));
    assert.deepEqual(rules, []);
    const stateDirs = await readdir(join(new StoreLayout(env.dataRoot, env.address).root, 'containers', env.namespace)).catch(() => []);
    assert.deepEqual(stateDirs, []);
  });
});
