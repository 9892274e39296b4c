/**
 * `run --net …` end to end: real containerd, runc, CNI plugins and iptables.
 * Custom networks use 10.204.0.0/16 only; traffic goes only to container IPs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';

let env: TestEnv;
const ok = async (args: string[]) => {
  const r = await tsnerd(env, args, { timeoutMs: 120_000 });
  assert.equal(r.exitCode, 0, `tsnerd ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
};
const ipOf = async (name: string, net?: string) => {
  const [info] = JSON.parse(await ok(['inspect', name])) as { NetworkSettings: { IPAddress: string; Networks: Record<string, { IPAddress: string }> } }[];
  return net ? info!.NetworkSettings.Networks[net]!.IPAddress : info!.NetworkSettings.IPAddress;
};
const HTTPD = ['sh', '-c', 'echo hello-from-$(hostname) > /tmp/index.html && exec httpd -f -p 80 -h /tmp'];

describe('run --net (e2e)', { timeout: 900_000 }, () => {
  before(async () => {
    env = await startEnv('t-netrun');
    await importTestImage(env);
  });
  after(async () => {
    await tsnerd(env, ['rm', '-f', ...(await tsnerd(env, ['ps', '-aq'])).stdout.split('\n').filter(Boolean)]);
    await env.stop();
  });

  it('serves httpd on the default bridge at the container IP, routed via the gateway', async () => {
    await ok(['run', '-d', '--name', 'web', 'busybox', ...HTTPD]);
    const ip = await ipOf('web');
    assert.match(ip, /^10\.4\.0\.\d+$/);
    const body = await (await fetch(`http://${ip}/`)).text();
    assert.match(body, /^hello-from-/);
    assert.match(await ok(['exec', 'web', 'ip', 'route']), /^default via 10\.4\.0\.1 dev eth0/m);
    await ok(['rm', '-f', 'web']);
  });

  it('puts a container on a custom subnet, honours --ip, and rejects an --ip outside cleanly', async () => {
    await ok(['network', 'create', 't-net-a', '--subnet', '10.204.1.0/24']);
    await ok(['run', '-d', '--name', 'a1', '--net', 't-net-a', '--ip', '10.204.1.50', 'busybox', 'sleep', '1000']);
    assert.match(await ok(['exec', 'a1', 'ip', '-o', '-4', 'addr', 'show', 'eth0']), /inet 10\.204\.1\.50\/24/);
    const before = await ok(['ps', '-a', '-q']);
    const bad = await tsnerd(env, ['run', '-d', '--name', 'a-bad', '--net', 't-net-a', '--ip', '10.204.9.9', 'busybox', 'true']);
    assert.notEqual(bad.exitCode, 0);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.equal(await ok(['ps', '-a', '-q']), before);
    const again = await tsnerd(env, ['run', '-d', '--name', 'a-bad', '--net', 't-net-a', 'busybox', 'sleep', '1000']);
    assert.equal(again.exitCode, 0, 'the name of the failed run was released');
    await ok(['rm', '-f', 'a1', 'a-bad']);
  });

  it('lets containers on one network find each other by name and hostname, and not from another network', async () => {
    await ok(['network', 'create', 't-net-b', '--subnet', '10.204.2.0/24']);
    await ok(['run', '-d', '--name', 'b1', '-h', 'host-b1', '--net', 't-net-a', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'b2', '--net', 't-net-a', 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'b3', '--net', 't-net-b', 'busybox', 'sleep', '1000']);
    for (const target of ['b1', 'host-b1', 'b1.t-net-a', 'host-b1.t-net-a']) {
      await ok(['exec', 'b2', 'ping', '-c', '1', '-W', '2', target]);
    }
    const hosts = await ok(['exec', 'b1', 'cat', '/etc/hosts']);
    assert.match(hosts, /\sb2 b2\.t-net-a/);
    const other = await tsnerd(env, ['exec', 'b3', 'ping', '-c', '1', '-W', '1', 'b1']);
    assert.notEqual(other.exitCode, 0);
    const b1ip = await ipOf('b1');
    const reach = await tsnerd(env, ['exec', 'b3', 'ping', '-c', '1', '-W', '1', b1ip]);
    assert.notEqual(reach.exitCode, 0, 'networks are isolated');
    await ok(['rm', '-f', 'b1', 'b2', 'b3']);
  });

  it('gives --internal networks no default route', async () => {
    await ok(['network', 'create', 't-net-int', '--internal', '--subnet', '10.204.3.0/24']);
    const routes = await ok(['run', '--rm', '--net', 't-net-int', 'busybox', 'ip', 'route']);
    assert.doesNotMatch(routes, /default/);
    assert.match(routes, /10\.204\.3\.0\/24/);
  });

  it('uses a hand-written single-plugin .conf network together with 99-loopback.conf', async () => {
    await writeFile(
      join(env.netconfPath, '10-t-hand.conf'),
      JSON.stringify({
        cniVersion: '1.0.0', name: 't-hand', type: 'bridge', bridge: 'tnr-hand0', isGateway: true, ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.204.4.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
      }),
    );
    await writeFile(join(env.netconfPath, '99-loopback.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' }));
    const out = await ok(['run', '--rm', '--net', 't-hand', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
    assert.match(out, /inet 10\.204\.4\.\d+\/24/);
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
    // Other tests may add or remove veths meanwhile: compare the stable links this test made or found.
    const links = (await ok(['run', '--rm', '--net', 'host', 'busybox', 'ls', '/sys/class/net'])).split('\n');
    for (const link of ['lo', 'nerdctl0', 'tnr-hand0']) assert.ok(links.includes(link), `${link} in ${links.join(' ')}`);
    assert.equal(await ok(['run', '--rm', '--net', 'host', 'busybox', 'hostname']), hostname());
  });

  it('gives 16 concurrent containers distinct IPs and lists all 16 names in every hosts file', async () => {
    await ok(['network', 'create', 't-net-c', '--subnet', '10.204.5.0/24']);
    const names = Array.from({ length: 16 }, (_, i) => `c${i}`);
    await Promise.all(names.map((n) => ok(['run', '-d', '--name', n, '--net', 't-net-c', 'busybox', 'sleep', '1000'])));
    const ips = await Promise.all(names.map((n) => ipOf(n)));
    assert.equal(new Set(ips).size, 16);
    for (const n of names) {
      const hosts = await ok(['exec', n, 'cat', '/etc/hosts']);
      for (const other of names) assert.match(hosts, new RegExp(`\\s${other} ${other}\\.t-net-c`), `${n} lists ${other}`);
    }
    await ok(['rm', '-f', ...names]);
  });

  it('leaks nothing after 100 run --rm cycles on a custom network', async () => {
    await ok(['network', 'create', 't-net-leak', '--subnet', '10.204.6.0/24']);
    // Only this network's bridge: other test files may add or remove veths meanwhile.
    const conf = JSON.parse(await readFile(join(env.netconfPath, env.namespace, 'nerdctl-t-net-leak.conflist'), 'utf8')) as { plugins: { type: string; bridge?: string }[] };
    const bridgeName = conf.plugins.find((p) => p.type === 'bridge')!.bridge!;
    const { execa } = await import('execa');
    const ports = async () => (JSON.parse(String((await execa('ip', ['-j', 'link', 'show', 'master', bridgeName])).stdout) || '[]') as unknown[]).length;
    for (let i = 0; i < 100; i++) await ok(['run', '--rm', '--net', 't-net-leak', 'busybox', 'true']);
    assert.equal(await ports(), 0, `veths left on ${bridgeName}`);
    const allocations = (await readdir('/var/lib/cni/networks/t-net-leak').catch(() => [])).filter((f) => /^\d/.test(f));
    assert.deepEqual(allocations, []);
    const cache = (await readdir('/var/lib/cni/results').catch(() => [] as string[])).filter((f) => f.startsWith(`t-net-leak-${env.namespace}-`));
    assert.deepEqual(cache, []);
    const rules = String((await execa('iptables-save')).stdout).split('\n').filter((l) => l.includes(`id: \\"${env.namespace}-`));
    assert.deepEqual(rules, []);
    const stateDirs = await readdir(join(env.dataRoot, (await readdir(env.dataRoot))[0]!, 'containers', env.namespace)).catch(() => []);
    assert.deepEqual(stateDirs, []);
  });
});
