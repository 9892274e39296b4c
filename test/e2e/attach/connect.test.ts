/**
 * `network connect` / `network disconnect` end to end: real containerd, runc,
 * CNI plugins, iptables and hosts files. Networks use 10.214.0.0/16 only
 * (helper "con-" range); traffic goes only to container IPs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';

let env: TestEnv;
const ok = (args: string[]) => h.ok(env, args);
/** A command that must fail with one line on stderr; returns that line. */
const fails = (args: string[]) => h.failsWithOneLine(env, args);

interface Endpoint {
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  GlobalIPv6Address: string;
  MacAddress: string;
  NetworkID: string;
  Aliases: string[] | null;
  DNSNames: string[] | null;
}
const inspect = async (name: string) =>
  (
    JSON.parse(await ok(['inspect', name])) as { Id: string; NetworkSettings: { IPAddress: string; Networks: Record<string, Endpoint> } }[]
  )[0]!;
const HTTPD = ['sh', '-c', 'echo hello-from-$(hostname) > /tmp/index.html && exec httpd -f -p 80 -h /tmp'];

/** Everything a network's attachments leave on the host, for leak checks. */
async function traces(network: string, subnetPrefix: string) {
  const allocations = (await readdir(`/var/lib/cni/networks/${network}`).catch(() => [] as string[])).filter((f) => /^[\d.]+$|:/.test(f));
  const cache = (await readdir('/var/lib/cni/results').catch(() => [] as string[])).filter((f) =>
    f.startsWith(`${network}-${env.namespace}-`),
  );
  const rules: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const out = String((await execa(tool, { reject: false })).stdout);
    // The network's DNS rules (INPUT, tsnerd-dns) are the network's, not a container's: dnsRules.
    const containers = out.split('\n').filter((l) => !l.includes('--comment tsnerd-dns'));
    rules.push(...containers.filter((l) => l.includes(`name: \\"${network}\\"`) || l.includes(subnetPrefix)));
  }
  return { allocations, cache, rules };
}
/** tsnerd's DNS rules naming the subnet: made by the network's first container, there until network rm. */
async function dnsRules(subnetPrefix: string): Promise<string[]> {
  const out = String((await execa('iptables-save', ['-t', 'filter'], { reject: false })).stdout);
  return out.split('\n').filter((l) => l.includes('--comment tsnerd-dns') && l.includes(subnetPrefix));
}
/** Veths on the bridges of these networks (other tests on the machine add and remove their own meanwhile). */
const veths = async (...networks: string[]) => {
  let n = 0;
  for (const net of networks) {
    const conf = JSON.parse(await readFile(join(env.netconfPath, env.namespace, `nerdctl-${net}.conflist`), 'utf8')) as {
      plugins: { bridge?: string }[];
    };
    n += (await readdir(`/sys/class/net/${conf.plugins[0]!.bridge}/brif`).catch(() => [] as string[])).length;
  }
  return n;
};
/** Removes the named containers after the test, passed or not. */
const cleanup = (t: { after: (fn: () => Promise<void>) => void }, ...names: string[]) =>
  t.after(async () => {
    await tsnerd(env, ['rm', '-f', ...names]);
  });

describe('network connect/disconnect (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    env = await startEnv('con-connect');
    await importTestImage(env);
    await ok(['network', 'create', 'con-n1', '--subnet', '10.214.1.0/24']);
    await ok(['network', 'create', 'con-n2', '--subnet', '10.214.2.0/24']);
  });
  after(() => h.closeEnv(env, ['con-n1', 'con-n2', 'con-n3', 'con-n4']));

  it('connects a running container with an alias; peers reach it by name and alias; disconnect takes it all back', async (t) => {
    cleanup(t, 'a', 'p2', 'b');
    await ok(['run', '-d', '--name', 'a', '--net', 'con-n1', 'busybox', ...HTTPD]);
    await ok(['run', '-d', '--name', 'p2', '--net', 'con-n2', 'busybox', ...HTTPD]);
    const vethsBefore = await veths('con-n1', 'con-n2');
    await ok(['network', 'connect', '--alias', 'db', 'con-n2', 'a']);
    assert.equal(await veths('con-n1', 'con-n2'), vethsBefore + 1);

    assert.match(await ok(['exec', 'a', 'ip', '-o', '-4', 'addr', 'show', 'eth1']), /inet 10\.214\.2\.\d+\/24/);
    for (const target of ['a', 'db', 'a.con-n2']) await ok(['exec', 'p2', 'ping', '-c', '1', '-W', '2', target]);
    assert.match(await ok(['exec', 'p2', 'wget', '-q', '-O', '-', 'http://db/']), /^hello-from-/);
    assert.match(await ok(['exec', 'p2', 'wget', '-q', '-O', '-', 'http://a/']), /^hello-from-/);
    await ok(['exec', 'a', 'ping', '-c', '1', '-W', '2', 'p2']);
    assert.match(await ok(['exec', 'a', 'wget', '-q', '-O', '-', 'http://p2/']), /^hello-from-/);

    const info = await inspect('a');
    const n2 = info.NetworkSettings.Networks['con-n2']!;
    assert.match(n2.IPAddress, /^10\.214\.2\.\d+$/);
    assert.equal(n2.IPPrefixLen, 24);
    assert.equal(n2.Gateway, '10.214.2.1');
    assert.deepEqual(n2.Aliases, ['db']);
    assert.ok(n2.DNSNames?.includes('a') && n2.DNSNames.includes('db'), JSON.stringify(n2.DNSNames));
    assert.match(n2.NetworkID, /^[0-9a-f]{64}$/);
    assert.match(n2.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.match(info.NetworkSettings.Networks['con-n1']!.IPAddress, /^10\.214\.1\.\d+$/);
    assert.match(info.NetworkSettings.IPAddress, /^10\.214\.1\./, 'the primary address stays the first network');
    const [net2] = JSON.parse(await ok(['network', 'inspect', 'con-n2'])) as {
      Containers: Record<string, { Name: string; IPv4Address: string }>;
    }[];
    assert.equal(net2!.Containers[info.Id]?.IPv4Address, `${n2.IPAddress}/24`);

    await ok(['network', 'disconnect', 'con-n2', 'a']);
    const dns = await tsnerd(env, ['exec', 'p2', 'ping', '-c', '1', '-W', '1', 'db']);
    assert.notEqual(dns.exitCode, 0, 'db no longer resolves on con-n2');
    const p2hosts = await ok(['exec', 'p2', 'cat', '/etc/hosts']);
    assert.doesNotMatch(p2hosts, /\bdb\b|\ba\.con-n2\b/);
    assert.doesNotMatch(await ok(['exec', 'a', 'cat', '/etc/hosts']), /\bp2\b/);
    assert.deepEqual((await ok(['exec', 'a', 'ls', '/sys/class/net'])).split('\n').sort(), ['eth0', 'lo']);
    assert.equal(await veths('con-n1', 'con-n2'), vethsBefore);
    assert.deepEqual(Object.keys((await inspect('a')).NetworkSettings.Networks), ['con-n1']);
    // Its address on con-n2 is free at once: a new container can take it.
    await ok(['run', '-d', '--name', 'b', '--net', 'con-n2', '--ip', n2.IPAddress, 'busybox', 'sleep', '1000']);
    await ok(['rm', '-f', 'a', 'p2', 'b']);
  });

  it('keeps ports published with -p reachable across a connect and a disconnect of another network', async (t) => {
    cleanup(t, 'web');
    await ok(['run', '-d', '--name', 'web', '--net', 'con-n1', '-p', '127.0.0.1:39400:80', 'busybox', ...HTTPD]);
    // Retried: httpd may not listen yet right after run -d.
    const get = () => h.httpGet('http://127.0.0.1:39400/');
    assert.match(await get(), /^hello-from-/);
    await ok(['network', 'connect', 'con-n2', 'web']);
    assert.match(await get(), /^hello-from-/);
    await ok(['network', 'disconnect', 'con-n2', 'web']);
    assert.match(await get(), /^hello-from-/);
    await ok(['rm', '-f', 'web']);
  });

  it('records a connect of a created or stopped container and attaches it at start', async (t) => {
    cleanup(t, 's', 'q');
    await ok(['create', '--name', 's', '--net', 'con-n1', 'busybox', 'sleep', '1000']);
    await ok(['network', 'connect', '--alias', 'cache', 'con-n2', 's']);
    await ok(['start', 's']);
    assert.match(await ok(['exec', 's', 'ip', '-o', '-4', 'addr', 'show', 'eth1']), /inet 10\.214\.2\.\d+\/24/);
    await ok(['run', '-d', '--name', 'q', '--net', 'con-n2', 'busybox', 'sleep', '1000']);
    await ok(['exec', 'q', 'ping', '-c', '1', '-W', '2', 'cache']);
    await ok(['stop', '-t', '0', 's']);
    await ok(['network', 'disconnect', 'con-n2', 's']);
    await ok(['start', 's']);
    assert.deepEqual((await ok(['exec', 's', 'ls', '/sys/class/net'])).split('\n').sort(), ['eth0', 'lo']);
    assert.notEqual((await tsnerd(env, ['exec', 'q', 'ping', '-c', '1', '-W', '1', 'cache'])).exitCode, 0);
    await ok(['rm', '-f', 's', 'q']);
  });

  it('refuses duplicate, pseudo-network and unknown connects with one line and changes nothing', async (t) => {
    cleanup(t, 'e', 'h', 'taken');
    await ok(['run', '-d', '--name', 'e', '--net', 'con-n1', 'busybox', 'sleep', '1000']);
    assert.match(await fails(['network', 'connect', 'con-n1', 'e']), /endpoint with name e already exists in network con-n1/);
    assert.match(
      await fails(['network', 'connect', 'host', 'e']),
      /container cannot be disconnected from host network or connected to host network/,
    );
    assert.match(await fails(['network', 'connect', 'none', 'e']), /private \(none\) mode/);
    assert.match(await fails(['network', 'connect', 'con-nope', 'e']), /no network found matching: "con-nope"/);
    assert.match(await fails(['network', 'connect', 'con-n2', 'nope']), /nope/);
    assert.match(
      await fails(['network', 'connect', '--ip', '10.214.9.9', 'con-n2', 'e']),
      /--ip "10\.214\.9\.9" is outside the subnets of network "con-n2"/,
    );
    assert.match(
      await fails(['network', 'connect', '--alias', 'x', 'bridge', 'e']),
      /network-scoped alias is supported only for containers in user defined networks/,
    );
    assert.match(await fails(['network', 'connect', '--ip', 'x', 'con-n2', 'e']), /invalid IPv4 address "x"/);
    assert.match(await fails(['network', 'disconnect', 'con-n2', 'e']), /is not connected to network con-n2/);
    await ok(['network', 'disconnect', '-f', 'con-n2', 'e']);
    await ok(['run', '-d', '--name', 'h', '--net', 'host', 'busybox', 'sleep', '1000']);
    assert.match(await fails(['network', 'connect', 'con-n2', 'h']), /host network/);
    // A taken address: the plugin refuses, the rollback leaves no interface.
    await ok(['run', '-d', '--name', 'taken', '--net', 'con-n2', '--ip', '10.214.2.77', 'busybox', 'sleep', '1000']);
    await fails(['network', 'connect', '--ip', '10.214.2.77', 'con-n2', 'e']);
    assert.deepEqual((await ok(['exec', 'e', 'ls', '/sys/class/net'])).split('\n').sort(), ['eth0', 'lo']);
    assert.deepEqual(Object.keys((await inspect('e')).NetworkSettings.Networks), ['con-n1']);
    const eId = (await inspect('e')).Id;
    assert.deepEqual(
      (await traces('con-n2', '10.214.2.')).cache.filter((f) => f.includes(eId)),
      [],
      'e has no attachment on con-n2',
    );
    await ok(['rm', '-f', 'e', 'h', 'taken']);
  });

  it('gives each network its own alias and address with --net NAME,alias=A,ip=IP and --network-alias', async (t) => {
    cleanup(t, 'm', 'm1', 'm2', 'bad');
    await ok(['run', '-d', '--name', 'm', '--net', 'con-n1,alias=x,ip=10.214.1.40', '--net', 'con-n2,alias=y', 'busybox', 'sleep', '1000']);
    const info = await inspect('m');
    assert.equal(info.NetworkSettings.Networks['con-n1']!.IPAddress, '10.214.1.40');
    assert.deepEqual(info.NetworkSettings.Networks['con-n1']!.Aliases, ['x']);
    assert.match(info.NetworkSettings.Networks['con-n2']!.IPAddress, /^10\.214\.2\.\d+$/);
    assert.deepEqual(info.NetworkSettings.Networks['con-n2']!.Aliases, ['y']);
    await ok(['run', '-d', '--name', 'm1', '--net', 'con-n1', '--network-alias', 'api', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'm2', '--net', 'con-n2', 'busybox', 'sleep', '1000']);
    // x and api on con-n1 only, y on con-n2 only.
    await ok(['exec', 'm1', 'ping', '-c', '1', '-W', '2', 'x']);
    await ok(['exec', 'm', 'ping', '-c', '1', '-W', '2', 'api']);
    await ok(['exec', 'm2', 'ping', '-c', '1', '-W', '2', 'y']);
    assert.notEqual((await tsnerd(env, ['exec', 'm2', 'ping', '-c', '1', '-W', '1', 'x'])).exitCode, 0);
    assert.notEqual((await tsnerd(env, ['exec', 'm1', 'ping', '-c', '1', '-W', '1', 'y'])).exitCode, 0);
    assert.match(await ok(['exec', 'm2', 'cat', '/etc/hosts']), /^10\.214\.2\.\d+\s+\S+ \S+\.con-n2 m m\.con-n2 y$/m);

    const before = await ok(['ps', '-aq']);
    assert.match(
      await fails(['run', '-d', '--name', 'bad', '--network-alias', 'z', 'busybox', 'true']),
      /network-scoped alias is supported only/,
    );
    assert.match(
      await fails(['run', '-d', '--name', 'bad', '--net', 'bridge,alias=z', 'busybox', 'true']),
      /network-scoped alias is supported only/,
    );
    assert.match(await fails(['run', '-d', '--name', 'bad', '--net', 'con-n1,foo=1', 'busybox', 'true']), /invalid network option "foo"/);
    assert.match(
      await fails(['run', '-d', '--name', 'bad', '--net', 'con-n1,ip=10.214.9.1', 'busybox', 'true']),
      /is outside the subnets of network "con-n1"/,
    );
    assert.match(
      await fails(['run', '-d', '--name', 'bad', '--net', 'con-n1,alias=a', '--network-alias', 'b', 'busybox', 'true']),
      /cannot specify both --network-alias and per-network alias/,
    );
    assert.match(
      await fails(['run', '-d', '--name', 'bad', '--net', 'host', '--network-alias', 'b', 'busybox', 'true']),
      /network-scoped alias/,
    );
    assert.equal(await ok(['ps', '-aq']), before);
    await ok(['rm', '-f', 'm', 'm1', 'm2']);
  });

  it('leaves nothing behind after 50 connect/disconnect cycles, nor after connect; disconnect; connect; rm -f', async (t) => {
    cleanup(t, 'c');
    await ok(['network', 'create', 'con-n3', '--subnet', '10.214.3.0/24']);
    await ok(['network', 'create', 'con-n4', '--subnet', '10.214.4.0/24']);
    await ok(['run', '-d', '--name', 'c', '--net', 'con-n3', 'busybox', 'sleep', '1000']);
    const vethsBefore = await veths('con-n3', 'con-n4');
    const hostsBefore = await ok(['exec', 'c', 'cat', '/etc/hosts']);
    for (let i = 0; i < 50; i++) {
      await ok(['network', 'connect', '--alias', 'cy', 'con-n4', 'c']);
      await ok(['network', 'disconnect', 'con-n4', 'c']);
    }
    assert.equal(await veths('con-n3', 'con-n4'), vethsBefore);
    assert.deepEqual(await traces('con-n4', '10.214.4.'), { allocations: [], cache: [], rules: [] });
    // The network's DNS rules, made by its first connect, once each after 50 (UDP and TCP to the gateway).
    assert.equal((await dnsRules('10.214.4.')).length, 2, (await dnsRules('10.214.4.')).join('\n'));
    assert.equal(await ok(['exec', 'c', 'cat', '/etc/hosts']), hostsBefore);
    assert.deepEqual((await ok(['exec', 'c', 'ls', '/sys/class/net'])).split('\n').sort(), ['eth0', 'lo']);

    await ok(['network', 'connect', 'con-n4', 'c']);
    await ok(['network', 'disconnect', 'con-n4', 'c']);
    await ok(['network', 'connect', 'con-n4', 'c']);
    await ok(['rm', '-f', 'c']);
    assert.equal(await veths('con-n3', 'con-n4'), vethsBefore - 1);
    assert.deepEqual(await traces('con-n4', '10.214.4.'), { allocations: [], cache: [], rules: [] });
    assert.deepEqual(await traces('con-n3', '10.214.3.'), { allocations: [], cache: [], rules: [] });
  });
});
