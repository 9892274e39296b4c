/**
 * network create/ls/inspect/rm/prune against a private conf dir. Resources of this
 * file: networks t-nw-* in 10.226.0.0/16, the hand-written network's bridge name
 * tnw-hand0 (never created), no host ports. Every test removes what it made in t.after.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import * as h from '../harness.ts';
import { removeAfter, startEnv, tsnerd, type TestEnv } from '../harness.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('network: definitions, ls, inspect, rm, prune', { timeout: 300_000 }, () => {
  let env: TestEnv;
  const ok = (args: string[]) => h.ok(env, args);
  const cleanup = (t: TestContext, networks: string[]) => removeAfter(t, env, { networks });
  /** A file of the env's conf dir, removed after the test. */
  const confFile = (t: TestContext, name: string) => {
    const file = join(env.netconfPath, name);
    t.after(() => rm(file, { force: true }));
    return file;
  };
  /** The default network's conflist, which `network rm` refuses: removed by hand after the test. */
  const defaultNetworkFile = (t: TestContext) => confFile(t, 'nerdctl-bridge.conflist');
  /** A hand-written single-plugin .conf network t-nw-hand (10.226.9.0/24), removed after the test. */
  const handWrittenConf = async (t: TestContext) => {
    const file = confFile(t, '10-t-nw-hand.conf');
    const conf = {
      cniVersion: '0.4.0',
      name: 't-nw-hand',
      type: 'bridge',
      bridge: 'tnw-hand0',
      ipam: { type: 'host-local', subnet: '10.226.9.0/24' },
    };
    await writeFile(file, JSON.stringify(conf));
    return file;
  };
  const inspect = async (ref: string) => JSON.parse(await ok(['network', 'inspect', ref]))[0];
  const lsRows = async () => (await ok(['network', 'ls', '--format', '{{.ID}}|{{.Name}}|{{.File}}'])).split('\n').filter((l) => l !== '');
  /** Every file under the conf dir with its content: "writes nothing" means this does not change. */
  const snapshot = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    const walk = async (dir: string) => {
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else out[p] = await readFile(p, 'utf8');
      }
    };
    await walk(env.netconfPath);
    return out;
  };

  before(async () => {
    env = await startEnv('t-network');
  });
  after(async () => {
    await env?.stop();
  });

  it('a fresh conf dir lists only host and none', async () => {
    assert.deepEqual(await lsRows(), ['|host|', '|none|']);
    assert.equal(await ok(['network', 'ls', '-q']), '');
    const table = (await ok(['network', 'ls'])).split('\n');
    assert.match(table[0]!, /^NETWORK ID\s+NAME\s+FILE$/);
  });

  it('create writes a nerdctl-format conflist in the namespace folder; ls and inspect show it', async (t) => {
    cleanup(t, ['t-nw-a']);
    const id = await ok([
      'network',
      'create',
      't-nw-a',
      '--subnet',
      '10.226.1.0/24',
      '--gateway',
      '10.226.1.254',
      '--ip-range',
      '10.226.1.128/25',
      '--label',
      'team=net',
    ]);
    assert.equal(id.trim(), sha256('t-nw-a'));
    const file = join(env.netconfPath, env.namespace, 'nerdctl-t-nw-a.conflist');
    const conf = JSON.parse(await readFile(file, 'utf8'));
    assert.deepEqual(Object.keys(conf), ['cniVersion', 'name', 'nerdctlID', 'nerdctlLabels', 'plugins']);
    assert.deepEqual(
      conf.plugins.map((p: { type: string }) => p.type),
      ['bridge', 'portmap', 'firewall', 'tuning'],
    );
    assert.equal(conf.plugins[0].bridge, `br-${id.slice(0, 12)}`);
    assert.deepEqual(await lsRows(), [`${id.slice(0, 12)}|t-nw-a|${file}`, '|host|', '|none|']);

    const net = await inspect('t-nw-a');
    assert.equal(net.Name, 't-nw-a');
    assert.equal(net.Id, id.trim());
    assert.equal(net.Driver, 'bridge');
    assert.deepEqual(net.IPAM.Config, [{ Subnet: '10.226.1.0/24', Gateway: '10.226.1.254', IPRange: '10.226.1.128/25' }]);
    assert.deepEqual(net.Labels, { team: 'net' });
    assert.deepEqual(net.Containers, {});
    assert.equal((await inspect(id.slice(0, 20))).Name, 't-nw-a');
  });

  it('picks a free /24 automatically and marks --internal networks', async (t) => {
    cleanup(t, ['t-nw-auto']);
    await ok(['network', 'create', 't-nw-auto', '--internal']);
    const net = await inspect('t-nw-auto');
    assert.equal(net.Internal, true);
    const [{ Subnet, Gateway }] = net.IPAM.Config;
    assert.match(Subnet, /^10\.\d+\.\d+\.0\/24$/);
    assert.notEqual(Subnet, '10.4.0.0/24');
    assert.equal(Gateway, Subnet.replace('0/24', '1'));
  });

  it('lists a hand-written conf file with its FILE and no ID, and never removes it', async (t) => {
    const file = await handWrittenConf(t);
    assert.ok((await lsRows()).includes(`|t-nw-hand|${file}`));
    assert.deepEqual((await inspect('t-nw-hand')).IPAM.Config, [{ Subnet: '10.226.9.0/24' }]);
    const r = await tsnerd(env, ['network', 'rm', 't-nw-hand']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /was not created by tsnerd or nerdctl/);
    assert.ok(existsSync(file));
  });

  it("namespaces do not see each other's networks", async (t) => {
    cleanup(t, ['t-nw-ns']);
    await ok(['network', 'create', 't-nw-ns', '--subnet', '10.226.5.0/24']);
    assert.equal((await inspect('t-nw-ns')).Name, 't-nw-ns');
    const r = await tsnerd(env, ['network', 'inspect', '--namespace', 't-network-other', 't-nw-ns']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /no network found matching: "t-nw-ns"/);
  });

  it('inspect bridge creates the default network: nerdctl0, 10.4.0.0/24 via 10.4.0.1, at the top level', async (t) => {
    defaultNetworkFile(t);
    const net = await inspect('bridge');
    assert.equal(net.Id, sha256('bridge'));
    assert.deepEqual(net.IPAM.Config, [{ Subnet: '10.4.0.0/24', Gateway: '10.4.0.1' }]);
    assert.deepEqual(net.Labels, { 'nerdctl/default-network': 'true' });
    const file = join(env.netconfPath, 'nerdctl-bridge.conflist');
    assert.equal(JSON.parse(await readFile(file, 'utf8')).plugins[0].bridge, 'nerdctl0');
    assert.ok((await lsRows()).includes(`${sha256('bridge').slice(0, 12)}|bridge|${file}`));
    const rm = await tsnerd(env, ['network', 'rm', 'bridge']);
    assert.equal(rm.exitCode, 1);
    assert.match(rm.stderr, /cannot remove pre-defined network bridge/);
  });

  it('rm by short ID deletes the conflist and the host bridge', async (t) => {
    cleanup(t, ['t-nw-rm']);
    const id = (await ok(['network', 'create', 't-nw-rm', '--subnet', '10.226.2.0/24'])).trim();
    const link = `br-${id.slice(0, 12)}`;
    t.after(() => execa('ip', ['link', 'del', 'dev', link], { reject: false }));
    await execa('ip', ['link', 'add', link, 'type', 'bridge']); // what the bridge plugin leaves after a container ran
    assert.equal(await ok(['network', 'rm', id.slice(0, 12)]), id.slice(0, 12));
    assert.equal(existsSync(join(env.netconfPath, env.namespace, 'nerdctl-t-nw-rm.conflist')), false);
    assert.equal((await execa('ip', ['link', 'show', 'dev', link], { reject: false })).exitCode, 1);
  });

  it('refuses bad input with one clear error and writes nothing', async (t) => {
    cleanup(t, ['t-nw-a']);
    await ok(['network', 'create', 't-nw-a', '--subnet', '10.226.1.0/24']);
    const before = await snapshot();
    const cases: Array<[string[], number, RegExp]> = [
      [['t'], 1, /invalid network name: identifier "t" must match pattern/],
      [['t-net/bad'], 1, /invalid network name/],
      [['t-nw-a'], 1, /network with name t-nw-a already exists/],
      [['t-nw-x', '--subnet', '10.226.1.0/25'], 1, /subnet 10.226.1.0\/25 overlaps with other one on this address space/],
      [['t-nw-x', '--subnet', '10.226.3.1/24'], 1, /unexpected subnet "10.226.3.1\/24", maybe you meant "10.226.3.0\/24"\?/],
      [['t-nw-x', '--subnet', '10.226.3.0/24', '--gateway', '10.226.4.1'], 1, /no matching subnet for gateway "10.226.4.1"/],
      [['t-nw-x', '--subnet', '10.226.3.0/31'], 1, /subnet "10.226.3.0\/31" is too small/],
      [['t-nw-x', '-d', 'vxlan'], 1, /unsupported cni driver "vxlan"/],
      [['t-nw-x', '-d', 'overlay'], 2, /--driver overlay needs --etcd-endpoints/],
      [['t-nw-x', '--vni', '5'], 2, /--etcd-endpoints, --subnet-len, --vni and --port need --driver overlay/],
      [['t-nw-x', '-o', 'foo=bar'], 1, /unsupported "bridge" network option "foo"/],
      [['t-nw-x', '--gateway', '10.226.3.1'], 1, /cannot set gateway or ip-range without subnet/],
      [['t-nw-x', '--ipam-driver', 'static'], 1, /unsupported ipam driver "static"/],
      [['t-nw-x', '--cni-path', join(env.dir, 'no-plugins')], 1, /needs CNI plugin "bridge" to be installed in CNI_PATH/],
      [['t-nw-x', '--no-such-flag'], 2, /no-such-flag/],
      [[], 2, /missing 1 required arg/i],
    ];
    await mkdir(join(env.dir, 'no-plugins'), { recursive: true });
    for (const [args, code, message] of cases) {
      const r = await tsnerd(env, ['network', 'create', ...args]);
      assert.equal(r.exitCode, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('prune removes unused tsnerd/nerdctl networks, keeping bridge and hand-written files', async (t) => {
    cleanup(t, ['t-nw-p1', 't-nw-p2']);
    defaultNetworkFile(t);
    await handWrittenConf(t);
    await inspect('bridge');
    await ok(['network', 'create', 't-nw-p1', '--subnet', '10.226.6.0/24']);
    await ok(['network', 'create', 't-nw-p2', '--internal']);
    const out = await ok(['network', 'prune', '-f']);
    assert.deepEqual(
      out
        .split('\n')
        .filter((l) => l !== '')
        .sort(),
      ['Deleted Networks:', 't-nw-p1', 't-nw-p2'].sort(),
    );
    assert.deepEqual(
      (await lsRows()).map((r) => r.split('|')[1]),
      ['t-nw-hand', 'bridge', 'host', 'none'],
    );
    assert.equal(await ok(['network', 'prune', '-f']), '');
  });
});
