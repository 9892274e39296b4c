/**
 * IPv6-only and dual-stack networks end to end (network create --ipv4=false,
 * --aux-address, automatic IPv6 subnets). Subnets in fd00:214::/48 and 10.214.0.0/16 only (helper
 * "con-" range), and the host's own unique local /48 (its automatic /64s; the env's conf dir holds
 * no other network of it); traffic goes only to container addresses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';

let env: TestEnv;
const ok = (args: string[]) => h.ok(env, args);
const fails = (args: string[]) => h.failsWithOneLine(env, args);
/** A new IPv6 address is tentative until duplicate address detection is done (~1-2 s): retry. */
const eventually = (args: string[]) => h.eventually(env, args);
interface Ep {
  IPAddress: string;
  GlobalIPv6Address: string;
}
const endpoint = async (name: string, net: string) =>
  (JSON.parse(await ok(['inspect', name])) as { NetworkSettings: { Networks: Record<string, Ep> } }[])[0]!.NetworkSettings.Networks[net]!;

describe('IPv6 networks (e2e)', { timeout: 600_000 }, () => {
  before(async () => {
    env = await startEnv('con-ipv6');
    await importTestImage(env);
  });
  after(() => h.closeEnv(env, ['con-v6', 'con-ds', 'con-aux', 'con-a6', 'con-a6only']));

  it('runs containers on an IPv6-only network (--ipv4=false) that ping each other by name, with a ::/0 route', async (t) => {
    t.after(async () => void (await tsnerd(env, ['rm', '-f', 'v1', 'v2'])));
    await ok(['network', 'create', 'con-v6', '--ipv4=false', '--ipv6', '--subnet', 'fd00:214:1::/64']);
    const [net] = JSON.parse(await ok(['network', 'inspect', 'con-v6'])) as {
      EnableIPv6: boolean;
      IPAM: { Config: { Subnet: string }[] };
    }[];
    assert.equal(net!.EnableIPv6, true);
    assert.deepEqual(
      net!.IPAM.Config.map((c) => c.Subnet),
      ['fd00:214:1::/64'],
    );

    await ok(['run', '-d', '--name', 'v1', '--net', 'con-v6', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'v2', '--net', 'con-v6', 'busybox', 'sleep', '1000']);
    const v1 = await endpoint('v1', 'con-v6');
    assert.equal(v1.IPAddress, '');
    assert.match(v1.GlobalIPv6Address, /^fd00:214:1::/);
    assert.doesNotMatch(await ok(['exec', 'v1', 'ip', '-4', 'addr', 'show', 'eth0']), /inet /);
    assert.match(await ok(['exec', 'v1', 'ip', '-6', 'route']), /^default via fd00:214:1::1 dev eth0/m);
    assert.match(
      await ok(['exec', 'v2', 'cat', '/etc/hosts']),
      new RegExp(`^${v1.GlobalIPv6Address.replaceAll(':', '\\:')}\\s+\\S+ \\S+\\.con-v6 v1 v1\\.con-v6$`, 'm'),
    );
    await eventually(['exec', 'v2', 'ping', '-c', '1', '-W', '2', 'v1']);
    await eventually(['exec', 'v1', 'ping', '-c', '1', '-W', '2', 'v2.con-v6']);
  });

  it('lets dual-stack containers reach each other over IPv6 by name; -p answers on IPv6 too', async (t) => {
    t.after(async () => void (await tsnerd(env, ['rm', '-f', 'd1', 'd2'])));
    await ok(['network', 'create', 'con-ds', '--ipv6', '--subnet', 'fd00:214:2::/64', '--subnet', '10.214.20.0/24']);
    await ok([
      'run',
      '-d',
      '--name',
      'd1',
      '--net',
      'con-ds',
      '-p',
      '39420:80',
      'busybox',
      'sh',
      '-c',
      'echo six > /tmp/index.html && exec httpd -f -p 80 -h /tmp',
    ]);
    await ok(['run', '-d', '--name', 'd2', '--net', 'con-ds', 'busybox', 'sleep', '1000']);
    const d1 = await endpoint('d1', 'con-ds');
    assert.match(d1.IPAddress, /^10\.214\.20\./);
    assert.match(d1.GlobalIPv6Address, /^fd00:214:2::/);
    // Both default routes, as Docker's dual-stack containers have them.
    assert.match(await ok(['exec', 'd1', 'ip', '-6', 'route']), /^default via fd00:214:2::1 dev eth0/m);
    assert.match(await ok(['exec', 'd1', 'ip', '-4', 'route']), /^default via 10\.214\.20\.1 dev eth0/m);
    await eventually(['exec', 'd2', 'ping', '-6', '-c', '1', '-W', '2', 'd1']);
    assert.equal(await eventually(['exec', 'd2', 'wget', '-q', '-O', '-', `http://[${d1.GlobalIPv6Address}]/`]), 'six');
    // -p 39420:80 (all addresses) answers on IPv6 too, forwarded to d1's IPv6 address; asked at the
    // addresses this test's bridge has on the network, so the traffic stays on the test's own objects.
    const get = async (host: string) => (await fetch(`http://${host}:39420/`, { signal: AbortSignal.timeout(5000) })).text();
    assert.equal((await get('10.214.20.1')).trim(), 'six');
    let v6 = '';
    for (let i = 0; i < 20 && v6 === ''; i++) v6 = await get('[fd00:214:2::1]').catch(async () => (await sleep(500), ''));
    assert.equal(v6.trim(), 'six');
  });

  it('gives --ipv6 without an IPv6 --subnet a unique local /64 of its own, as Docker and Podman do (nerdctl none)', async (t) => {
    t.after(async () => void (await tsnerd(env, ['rm', '-f', 'a1', 'a2', 'a3'])));
    const subnetsOf = async (net: string) =>
      (JSON.parse(await ok(['network', 'inspect', net])) as { IPAM: { Config: { Subnet: string; Gateway: string }[] } }[])[0]!.IPAM.Config;
    await ok(['network', 'create', 'con-a6', '--ipv6', '--subnet', '10.214.40.0/24']);
    await ok(['network', 'create', 'con-a6only', '--ipv4=false', '--ipv6']);
    const [v4, auto] = await subnetsOf('con-a6');
    assert.equal(v4!.Subnet, '10.214.40.0/24');
    // fd + a 40-bit ID of this host: fdXX:XXXX:XXXX::/48, a /64 of it per network
    assert.match(auto!.Subnet, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})?::\/64$/);
    assert.equal(auto!.Gateway, auto!.Subnet.replace('::/64', '::1'));
    const [only] = await subnetsOf('con-a6only');
    assert.equal((await subnetsOf('con-a6only')).length, 1);
    assert.notEqual(only!.Subnet, auto!.Subnet, 'each network its own /64');
    const prefix48 = (s: string) => s.split(':').slice(0, 3).join(':');
    assert.equal(prefix48(only!.Subnet), prefix48(auto!.Subnet), 'one /48 per host');

    await ok(['run', '-d', '--name', 'a1', '--net', 'con-a6', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'a2', '--net', 'con-a6', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'a3', '--net', 'con-a6only', 'busybox', 'sleep', '1000']);
    const a1 = await endpoint('a1', 'con-a6');
    assert.ok(a1.GlobalIPv6Address.startsWith(auto!.Subnet.replace('::/64', '::')), a1.GlobalIPv6Address);
    assert.match(a1.IPAddress, /^10\.214\.40\./);
    assert.match(await ok(['exec', 'a1', 'ip', '-6', 'route']), new RegExp(`^default via ${auto!.Gateway} dev eth0`, 'm'));
    await eventually(['exec', 'a2', 'ping', '-6', '-c', '1', '-W', '2', 'a1']);
    const a3 = await endpoint('a3', 'con-a6only');
    assert.equal(a3.IPAddress, '');
    assert.ok(a3.GlobalIPv6Address.startsWith(only!.Subnet.replace('::/64', '::')), a3.GlobalIPv6Address);
    await eventually(['exec', 'a3', 'ping', '-6', '-c', '1', '-W', '2', only!.Gateway]);
  });

  it('keeps --aux-address addresses out of the container ranges', async (t) => {
    t.after(async () => void (await tsnerd(env, ['rm', '-f', 'x1', 'x2', 'x3'])));
    // A /29: .1 gateway, .2-.6 hosts; .3 and .4 reserved leave .2, .5 and .6.
    await ok([
      'network',
      'create',
      'con-aux',
      '--subnet',
      '10.214.21.0/29',
      '--aux-address',
      'r1=10.214.21.3',
      '--aux-address',
      'r2=10.214.21.4',
    ]);
    const [net] = JSON.parse(await ok(['network', 'inspect', 'con-aux'])) as {
      IPAM: { Config: { AuxiliaryAddresses?: Record<string, string> }[] };
    }[];
    assert.deepEqual(net!.IPAM.Config[0]!.AuxiliaryAddresses, { r1: '10.214.21.3', r2: '10.214.21.4' });
    const ips: string[] = [];
    for (const name of ['x1', 'x2', 'x3']) {
      await ok(['run', '-d', '--name', name, '--net', 'con-aux', 'busybox', 'sleep', '1000']);
      ips.push((await endpoint(name, 'con-aux')).IPAddress);
    }
    assert.deepEqual(ips.sort(), ['10.214.21.2', '10.214.21.5', '10.214.21.6']);
  });

  it('refuses bad network create options with one line and creates nothing', async () => {
    const before = await ok(['network', 'ls', '-q']);
    assert.match(await fails(['network', 'create', 'con-bad', '--ipv4=false']), /IPv4 or IPv6 must be enabled/);
    assert.match(await fails(['network', 'create', 'con-bad', '--ipv4=maybe']), /invalid value "maybe" for --ipv4/);
    assert.match(
      await fails(['network', 'create', 'con-bad', '--subnet', '10.214.22.0/24', '--aux-address', 'a=10.214.23.1']),
      /no matching subnet for aux-address/,
    );
    assert.match(await fails(['network', 'create', 'con-bad', '--subnet', '10.214.22.0/24', '--aux-address', 'nope']), /expected name=IP/);
    assert.match(
      await fails(['network', 'create', 'con-bad', '--ipam-opt', 'a={"type":"request"}']),
      /only supported with --ipam-driver dhcp/,
    );
    assert.equal(await ok(['network', 'ls', '-q']), before);
  });
});
