/**
 * libcni-style chains with the Debian CNI plugins in throwaway netns. Resources of this
 * file: bridges tcni<N> with subnets 10.222.<N>.0/24 (netns-fixture.ts), netns tcni-*,
 * host port 38200 (of 38200-38299). Every test undoes its attachment in t.after.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { execa } from 'execa';

import { loadConfDir } from '../../../src/adapters/cni/conf-dir.ts';
import { ExecCniRuntime } from '../../../src/adapters/cni/exec-cni-runtime.ts';
import { parseConfList, type NetworkConfigList } from '../../../src/domain/cni/net-conf.ts';
import type { CniResult, RuntimeConf } from '../../../src/interfaces/cni.ts';
import { httpGet } from '../helpers.ts';
import { iptablesLinesWith, releaseSlot, takeSlot, type Slot } from './netns-fixture.ts';

const CNI_PATH = '/usr/lib/cni';
const MAC = '02:42:0a:c9:00:42';

async function netnsJson(slot: Slot, args: string[]): Promise<Array<Record<string, unknown>>> {
  const { stdout } = await execa('ip', ['-n', slot.netns, '-j', ...args]);
  return JSON.parse(stdout) as Array<Record<string, unknown>>;
}

/** The port this file publishes on the host (its range is 38200-38299). */
const HOST_PORT = 38200;

/** A slot with the full conflist ADDed, all undone after the test (DEL, netns, bridge, rules). */
async function attached(t: TestContext) {
  const slot = await takeSlot();
  const list = parseConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: `tcni-net${slot.index}`,
      plugins: [
        {
          type: 'bridge',
          bridge: slot.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: slot.subnet, gateway: slot.gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(slot.dir, 'ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'firewall' },
        { type: 'tuning', capabilities: { mac: true } },
      ],
    }),
  );
  const runtime = new ExecCniRuntime({ cniPath: CNI_PATH, cacheDir: join(slot.dir, 'cache') });
  const rt: RuntimeConf = {
    containerId: slot.containerId,
    netns: slot.netnsPath,
    ifName: 'eth0',
    args: [['IgnoreUnknown', '1']],
    capabilityArgs: { portMappings: [{ hostPort: HOST_PORT, containerPort: 8080, protocol: 'tcp' }], mac: MAC },
  };
  t.after(async () => {
    await runtime.delNetworkList(list, rt).catch(() => undefined);
    await releaseSlot(slot);
  });
  const added: CniResult = await runtime.addNetworkList(list, rt);
  return { slot, list, runtime, rt, added };
}

describe('a bridge + host-local + portmap + firewall + tuning conflist with the Debian plugins', { timeout: 120_000 }, () => {
  it('ADD gives the netns an address in the subnet, the declared MAC and a default route', async (t) => {
    const { slot, list, added } = await attached(t);
    const ip = added.ips[0]!;
    assert.match(ip.address, new RegExp(`^10\\.222\\.${slot.index}\\.\\d+/24$`));
    assert.equal(ip.gateway, slot.gateway);
    const [eth0] = await netnsJson(slot, ['addr', 'show', 'eth0']);
    const addrs = (eth0!['addr_info'] as Array<{ family: string; local: string; prefixlen: number }>).filter((a) => a.family === 'inet');
    assert.deepEqual(
      addrs.map((a) => `${a.local}/${a.prefixlen}`),
      [ip.address],
    );
    assert.equal(eth0!['address'], MAC);
    const routes = await netnsJson(slot, ['route', 'show']);
    assert.ok(
      routes.some((r) => r['dst'] === 'default' && r['gateway'] === slot.gateway),
      JSON.stringify(routes),
    );
    assert.ok(existsSync(join(slot.dir, 'cache', 'results', `${list.name}-${slot.containerId}-eth0`)));
  });

  it('a server in the netns answers on the container IP and through the port mapping on 127.0.0.1', async (t) => {
    const { slot, added } = await attached(t);
    const ip = added.ips[0]!.address.split('/')[0]!;
    const www = join(slot.dir, 'www');
    await mkdir(www);
    await writeFile(join(www, 'index.html'), `hello from ${slot.netns}\n`);
    const server = execa('ip', ['netns', 'exec', slot.netns, '/bin/busybox', 'httpd', '-f', '-p', `${ip}:8080`, '-h', www]);
    server.catch(() => undefined);
    t.after(async () => {
      server.kill('SIGKILL');
      await server.catch(() => undefined);
    });
    assert.equal(await httpGet(`http://${ip}:8080/`), `hello from ${slot.netns}\n`);
    assert.equal(await httpGet(`http://127.0.0.1:${HOST_PORT}/`), `hello from ${slot.netns}\n`);
  });

  it('DEL leaves no veth, iptables rule, IP allocation or cache entry', async (t) => {
    const { slot, list, runtime, rt, added } = await attached(t);
    const veths = added.interfaces.filter((i) => !i.sandbox && i.name !== slot.bridge).map((i) => i.name);
    assert.equal(veths.length, 1);
    assert.notDeepEqual(await iptablesLinesWith(slot.containerId), []);
    // The caller passes no capability args: they are replayed from the cache (portmap needs them).
    await runtime.delNetworkList(list, { containerId: slot.containerId, netns: slot.netnsPath, ifName: 'eth0' });
    for (const veth of veths) {
      assert.notEqual((await execa('ip', ['link', 'show', veth], { reject: false })).exitCode, 0, `${veth} still exists`);
    }
    assert.deepEqual(await iptablesLinesWith(slot.containerId), []);
    const allocations = (await readdir(join(slot.dir, 'ipam', list.name))).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    assert.deepEqual(allocations, []);
    assert.deepEqual(await readdir(join(slot.dir, 'cache', 'results')), []);
    // DEL again is harmless.
    await runtime.delNetworkList(list, rt);
  });
});

describe('a hand-written single-plugin .conf with extra routes', { timeout: 60_000 }, () => {
  let slot: Slot;
  let list: NetworkConfigList;
  let runtime: ExecCniRuntime;
  let rt: RuntimeConf;

  before(async () => {
    slot = await takeSlot();
    const confDir = join(slot.dir, 'net.d');
    await mkdir(confDir);
    const conf = {
      cniVersion: '1.0.0',
      name: `tcni-conf${slot.index}`,
      type: 'bridge',
      bridge: slot.bridge,
      isGateway: true,
      ipam: {
        type: 'host-local',
        subnet: slot.subnet,
        gateway: slot.gateway,
        routes: [{ dst: '0.0.0.0/0' }, { dst: '1.1.1.1/32', gw: slot.gateway }],
        dataDir: join(slot.dir, 'ipam'),
      },
    };
    await writeFile(join(confDir, '10-tcni.conf'), JSON.stringify(conf, null, 2));
    const { lists, warnings } = loadConfDir(confDir);
    assert.deepEqual(warnings, []);
    list = lists[0]!;
    runtime = new ExecCniRuntime({ cniPath: CNI_PATH, cacheDir: join(slot.dir, 'cache') });
    rt = { containerId: slot.containerId, netns: slot.netnsPath, ifName: 'eth0' };
  });

  after(async () => {
    await runtime.delNetworkList(list, rt).catch(() => undefined);
    await releaseSlot(slot);
  });

  // CHECK is exercised here, not on the portmap list: portmap 1.1.1's CHECK
  // looks for an IPv6 DNAT chain even for an IPv4-only attachment and fails.
  it('yields both routes in the netns, and CHECK passes on it', async () => {
    const result = await runtime.addNetworkList(list, rt);
    await runtime.checkNetworkList(list, rt);
    assert.deepEqual(result.routes, [{ dst: '0.0.0.0/0' }, { dst: '1.1.1.1/32', gw: slot.gateway }]);
    const routes = await netnsJson(slot, ['route', 'show']);
    assert.ok(
      routes.some((r) => r['dst'] === 'default' && r['gateway'] === slot.gateway),
      JSON.stringify(routes),
    );
    assert.ok(
      routes.some((r) => r['dst'] === '1.1.1.1' && r['gateway'] === slot.gateway),
      JSON.stringify(routes),
    );
    await runtime.delNetworkList(list, rt);
    assert.deepEqual(await readdir(join(slot.dir, 'cache', 'results')), []);
  });
});
