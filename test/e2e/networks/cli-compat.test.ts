/**
 * What a nerdctl/Docker user types first about networks, checked against nerdctl's and
 * Docker's output: prompts, formats, templates, global networking flags. Resources of this
 * file: networks au-cc-* in 10.227.0.0/16, the default network's file (never a container on it:
 * its bridge nerdctl0 is every env's, on 10.4.0.0/24) with --bridge-ip in 10.234.0.0/16, no
 * host ports. Every test removes what it made.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as h from '../harness.ts';
import { importTestImage, removeAfter, startEnv, tsnerd, type TestEnv } from '../harness.ts';

describe('networking CLI as nerdctl and Docker users type it', { timeout: 300_000 }, () => {
  let env: TestEnv;
  const ok = (args: string[], input?: string) => h.ok(env, args, input === undefined ? {} : { input });
  const cleanup = (t: TestContext, what: { containers?: string[]; networks?: string[] }) => removeAfter(t, env, what);
  const names = async () => h.lines(await ok(['network', 'ls', '--format', '{{.Name}}']));

  let image: string;
  before(async () => {
    env = await startEnv('au-compat');
    image = await importTestImage(env);
  });
  after(async () => {
    await env?.stop();
  });

  it('network prune without -f asks; no answer (stdin at its end) is a no, y removes', async (t) => {
    cleanup(t, { networks: ['au-cc-p1'] });
    await ok(['network', 'create', 'au-cc-p1', '--subnet', '10.227.10.0/24']);
    // stdin is /dev/null: before, the prompt never settled and node exited 13 (unsettled top-level await)
    const r = await tsnerd(env, ['network', 'prune']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /Are you sure you want to continue\? \[y\/N\]/);
    assert.equal(r.stdout, '');
    assert.ok((await names()).includes('au-cc-p1'));
    assert.equal(await ok(['network', 'prune'], 'n\n'), '');
    assert.ok((await names()).includes('au-cc-p1'));
    assert.equal(await ok(['network', 'prune'], 'y\n'), 'Deleted Networks:\nau-cc-p1');
    assert.ok(!(await names()).includes('au-cc-p1'));
  });

  it('network ls --format raw is refused, as nerdctl', async () => {
    const r = await tsnerd(env, ['network', 'ls', '--format', 'raw']);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /unsupported format: "raw"/);
    assert.equal(r.stdout, '');
  });

  it('inspect -f and network inspect -f take the Go templates Docker users write (range, index, variables)', async (t) => {
    cleanup(t, { containers: ['au-cc-c1'], networks: ['au-cc-n1'] });
    await ok(['network', 'create', 'au-cc-n1', '--subnet', '10.227.11.0/24', '--label', 'com.example/team=net']);
    await ok(['run', '-d', '--name', 'au-cc-c1', '--net', 'au-cc-n1', '--ip', '10.227.11.7', image, 'sleep', '1000']);
    // nerdctl's TestRunContainerWithStaticIP; before, inspect had no --format at all (exit 2)
    assert.equal(await ok(['inspect', '-f', '{{range .NetworkSettings.Networks}} {{.IPAddress}}{{end}}', 'au-cc-c1']), '10.227.11.7');
    assert.equal(
      await ok(['inspect', '--format', '{{range $net, $c := .NetworkSettings.Networks}}{{$net}}={{$c.IPAddress}}{{end}}', 'au-cc-c1']),
      'au-cc-n1=10.227.11.7',
    );
    assert.equal(await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'au-cc-c1']), '10.227.11.7');
    assert.equal(await ok(['inspect', '-f', '{{if eq .State.Status "running"}}up{{end}}', 'au-cc-c1']), 'up');
    assert.deepEqual(JSON.parse(await ok(['inspect', '-f', 'json', 'au-cc-c1'])).Name, 'au-cc-c1');
    assert.equal(
      await ok(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}', 'au-cc-n1']),
      '10.227.11.0/24 10.227.11.1',
    );
    assert.equal(await ok(['network', 'inspect', '-f', '{{index .Labels "com.example/team"}}', 'au-cc-n1']), 'net');
    assert.equal(
      await ok(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}', 'au-cc-n1']),
      'au-cc-c1 10.227.11.7/24',
    );
    // As Docker: what was found is printed, the rest reported, exit 1
    const r = await tsnerd(env, ['inspect', '-f', '{{.Name}}', 'au-cc-c1', 'au-cc-nope']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, 'au-cc-c1');
    assert.match(r.stderr, /no such container: "au-cc-nope"/);
    const bad = await tsnerd(env, ['inspect', '-f', '{{.Name', 'au-cc-c1']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /template parsing error/);
  });

  it('--bridge-ip (flag, NERDCTL_BRIDGE_IP) sets the default network when it is created, as nerdctl', async (t) => {
    const file = join(env.netconfPath, 'nerdctl-bridge.conflist');
    t.after(() => rm(file, { force: true }));
    const ipam = (r: string) => JSON.parse(r) as unknown;
    for (const bad of ['10.234.100.0/24', '10.234.100.1', 'fd00::1/64', '10.234.100.1/31']) {
      const r = await tsnerd(env, ['--bridge-ip', bad, 'network', 'inspect', 'bridge']);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`invalid --bridge-ip "${bad.replaceAll('.', '\\.')}"`));
      assert.ok(!existsSync(file), bad);
    }
    // network inspect bridge creates the default network (docs/compat.md) without its bridge
    assert.deepEqual(ipam(await ok(['--bridge-ip', '10.234.100.1/24', 'network', 'inspect', 'bridge', '-f', '{{json .IPAM.Config}}'])), [
      { Subnet: '10.234.100.0/24', Gateway: '10.234.100.1' },
    ]);
    const conf = JSON.parse(await readFile(file, 'utf8'));
    assert.deepEqual(conf.nerdctlLabels, { 'nerdctl/default-network': 'true' });
    assert.equal(conf.plugins[0].bridge, 'nerdctl0');
    assert.deepEqual(conf.plugins[0].ipam.ranges, [[{ gateway: '10.234.100.1', subnet: '10.234.100.0/24' }]]);
    // only read when the default network is created
    assert.deepEqual(ipam(await ok(['--bridge-ip', '10.234.101.1/24', 'network', 'inspect', 'bridge', '-f', '{{json .IPAM.Config}}'])), [
      { Subnet: '10.234.100.0/24', Gateway: '10.234.100.1' },
    ]);
    await rm(file);
    const withEnv: TestEnv = { ...env, env: { ...env.env, NERDCTL_BRIDGE_IP: '10.234.102.129/25' } };
    assert.equal(
      (await tsnerd(withEnv, ['network', 'inspect', 'bridge', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}'])).stdout,
      '10.234.102.128/25 10.234.102.129',
    );
  });

  it('--host-gateway-ip (flag, NERDCTL_HOST_GATEWAY_IP) is what --add-host NAME:host-gateway writes, as nerdctl', async (t) => {
    cleanup(t, { networks: ['au-cc-n2'] });
    await ok(['network', 'create', 'au-cc-n2', '--subnet', '10.227.12.0/24']);
    const hostsLine = (out: string) => h.lines(out).filter((l) => /\sgw$/.test(l));
    // nerdctl's TestRunAddHostWithCustomHostGatewayIP; before, the flag was unknown
    assert.deepEqual(
      hostsLine(
        await ok([
          'run',
          '--rm',
          '--net',
          'au-cc-n2',
          '--host-gateway-ip',
          '192.168.5.2',
          '--add-host',
          'gw:host-gateway',
          image,
          'cat',
          '/etc/hosts',
        ]),
      ),
      ['192.168.5.2     gw'],
    );
    const withEnv: TestEnv = { ...env, env: { ...env.env, NERDCTL_HOST_GATEWAY_IP: '10.227.12.200' } };
    const r = await tsnerd(withEnv, ['run', '--rm', '--net', 'au-cc-n2', '--add-host', 'gw:host-gateway', image, 'cat', '/etc/hosts']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(hostsLine(r.stdout), ['10.227.12.200   gw']);
    const bad = await tsnerd(env, [
      'run',
      '--rm',
      '--net',
      'au-cc-n2',
      '--host-gateway-ip',
      'nope',
      '--add-host',
      'gw:host-gateway',
      image,
      'true',
    ]);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /invalid --host-gateway-ip "nope": not an IP address/);
  });

  it("network ls takes Docker's filters, fields, \\t and 'table TEMPLATE'", async (t) => {
    cleanup(t, { networks: ['au-cc-l1', 'au-cc-l2'] });
    await ok(['network', 'create', 'au-cc-l1', '--subnet', '10.227.13.0/24']);
    await ok(['network', 'create', 'au-cc-l2', '--subnet', '10.227.14.0/24', '--internal', '--ipv6', '--subnet', 'fd00:227:14::/64']);
    // before: name filters were and-ed (nothing listed) and the fields below printed <no value>
    assert.deepEqual(
      h.lines(
        await ok([
          'network',
          'ls',
          '-f',
          'name=^au-cc-l1$',
          '-f',
          'name=^au-cc-l2$',
          '--format',
          '{{.Name}}\\t{{.Driver}}\\t{{.IPv6}}\\t{{.Internal}}',
        ]),
      ),
      ['au-cc-l1\tbridge\tfalse\tfalse', 'au-cc-l2\tbridge\ttrue\ttrue'],
    );
    assert.deepEqual(
      h.lines(
        await ok([
          'network',
          'ls',
          '-f',
          'driver=bridge',
          '-f',
          'type=custom',
          '-f',
          'name=au-cc-l',
          '--format',
          'table {{.Name}}\\t{{.Scope}}',
        ]),
      ),
      ['NAME       SCOPE', 'au-cc-l1   local', 'au-cc-l2   local'],
    );
    assert.equal(await ok(['network', 'ls', '-f', 'driver=macvlan', '-q']), '');
    assert.match(
      await ok(['network', 'ls', '-f', 'name=^au-cc-l1$', '--format', '{{.CreatedAt}}']),
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/,
    );
  });

  it('inspect shows Config.ExposedPorts (--expose, -p) and Config.Domainname, as nerdctl and Docker', async (t) => {
    cleanup(t, { containers: ['au-cc-c2'], networks: ['au-cc-n3'] });
    await ok(['network', 'create', 'au-cc-n3', '--subnet', '10.227.15.0/24']);
    await ok([
      'create',
      '--name',
      'au-cc-c2',
      '--net',
      'au-cc-n3',
      '--expose',
      '8089',
      '--expose',
      '7000-7001/udp',
      '-p',
      '37401:80',
      '--domainname',
      'example.com',
      image,
      'true',
    ]);
    // nerdctl's TestRunExposeOnly reads {{json .Config.ExposedPorts}}; before, tsnerd had neither field
    assert.deepEqual(JSON.parse(await ok(['inspect', '-f', '{{json .Config.ExposedPorts}}', 'au-cc-c2'])), {
      '80/tcp': {},
      '8089/tcp': {},
      '7000/udp': {},
      '7001/udp': {},
    });
    assert.equal(await ok(['inspect', '-f', '{{.Config.Domainname}}', 'au-cc-c2']), 'example.com');
  });

  it("tsnerd.toml's dns, dns_search, dns_opts are each used when its flag is not given (nerdctl's TestDNSWithGlobalConfig)", async (t) => {
    cleanup(t, { networks: ['au-cc-n4'] });
    await ok(['network', 'create', 'au-cc-n4', '--subnet', '10.227.16.0/24']);
    const toml = join(env.dir, 'au-dns.toml');
    await writeFile(
      toml,
      'dns = ["10.10.10.10", "20.20.20.20"]\ndns_search = ["example.com", "test.local"]\ndns_opts = ["ndots:2", "timeout:5"]\n',
    );
    const withToml: TestEnv = { ...env, env: { ...env.env, TSNERD_TOML: toml } };
    const resolvConf = async (args: string[]) => {
      const r = await tsnerd(withToml, ['run', '--rm', ...args, image, 'cat', '/etc/resolv.conf']);
      assert.equal(r.exitCode, 0, r.stderr);
      return h.lines(r.stdout);
    };
    const global = ['search example.com test.local', 'nameserver 10.10.10.10', 'nameserver 20.20.20.20', 'options ndots:2 timeout:5'];
    // before, the keys were ignored: the user network's resolver (nameserver 10.227.16.1) and the host's lists
    assert.deepEqual(await resolvConf(['--net', 'au-cc-n4']), global);
    assert.deepEqual(await resolvConf(['--net', 'none']), global);
    assert.deepEqual(await resolvConf(['--net', 'au-cc-n4', '--dns', '9.9.9.9', '--dns-search', 'override.com', '--dns-opt', 'ndots:3']), [
      'search override.com',
      'nameserver 9.9.9.9',
      'options ndots:3',
    ]);
    assert.deepEqual(await resolvConf(['--net', 'none', '--dns', '9.9.9.9']), [
      'search example.com test.local',
      'nameserver 9.9.9.9',
      'options ndots:2 timeout:5',
    ]);
  });
});
