import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { execa, type ResultPromise } from 'execa';

import { ExecCniRuntime } from '../../../src/adapters/cni/exec-cni-runtime.ts';
import { portReserverPid, startPortReserver, stopPortReserver } from '../../../src/adapters/host/process-port-reserver.ts';
import { parseConfList, type NetworkConfigList } from '../../../src/domain/cni/net-conf.ts';
import { parsePublishSpecs, resolvePortMappings, type PortMapping } from '../../../src/domain/publish/index.ts';
import type { RuntimeConf } from '../../../src/interfaces/cni.ts';
import { iptablesLinesWith, releaseSlot, type Slot } from '../cni/netns-fixture.ts';

const BRIDGE = 'tprt0';
const SUBNET = '10.203.7.0/24';
const GATEWAY = '10.203.7.1';

async function get(url: string): Promise<string> {
  let lastError: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
    } catch (err) {
      lastError = err;
      await sleep(100);
    }
  }
  throw lastError;
}

function tryListen(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'ERROR'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve('OK')));
  });
}

describe('a reserved host port that portmap DNATs to a netns', { timeout: 120_000 }, () => {
  let slot: Slot;
  let list: NetworkConfigList;
  let runtime: ExecCniRuntime;
  let rt: RuntimeConf;
  let mappings: PortMapping[];
  let server: ResultPromise | undefined;
  const base = 22200 + 2 * Math.floor(Math.random() * 50);

  before(async () => {
    const rand = randomBytes(4).toString('hex');
    slot = {
      index: 0,
      bridge: BRIDGE,
      subnet: SUBNET,
      gateway: GATEWAY,
      netns: `tprt-${rand}`,
      netnsPath: `/var/run/netns/tprt-${rand}`,
      containerId: `tprt-${rand}-${randomBytes(8).toString('hex')}`,
      dir: await mkdtemp(join(tmpdir(), 'tsnerd-ports-e2e-')),
    };
    assert.notEqual((await execa('ip', ['link', 'show', BRIDGE], { reject: false })).exitCode, 0, `${BRIDGE} already exists`);
    await execa('ip', ['netns', 'add', slot.netns]);
    list = parseConfList(JSON.stringify({
      cniVersion: '1.0.0',
      name: 'tprt-net',
      plugins: [
        {
          type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: true, hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]], dataDir: join(slot.dir, 'ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }));
    runtime = new ExecCniRuntime({ cniPath: '/usr/lib/cni', cacheDir: join(slot.dir, 'cache') });
    mappings = resolvePortMappings(parsePublishSpecs([`${base}:8080`, `127.0.0.1:${base + 1}:8080`]), []);
    rt = { containerId: slot.containerId, netns: slot.netnsPath, ifName: 'eth0', args: [['IgnoreUnknown', '1']], capabilityArgs: { portMappings: mappings } };
  });

  after(async () => {
    server?.kill('SIGKILL');
    await server?.catch(() => undefined);
    await stopPortReserver(slot.dir);
    await runtime.delNetworkList(list, rt).catch(() => undefined);
    await releaseSlot(slot);
  });

  it('still forwards 127.0.0.1 traffic to the container while the reserver holds the port', async () => {
    const added = await runtime.addNetworkList(list, rt);
    const ip = added.ips[0]!.address.split('/')[0]!;
    const www = join(slot.dir, 'www');
    await mkdir(www);
    await writeFile(join(www, 'index.html'), 'from the netns\n');
    server = execa('ip', ['netns', 'exec', slot.netns, '/bin/busybox', 'httpd', '-f', '-p', `${ip}:8080`, '-h', www]);
    server.catch(() => undefined);
    assert.equal(await get(`http://${ip}:8080/`), 'from the netns\n');

    await startPortReserver(mappings, slot.dir);
    assert.ok((await portReserverPid(slot.dir)) !== undefined);
    assert.equal(await tryListen('0.0.0.0', base), 'EADDRINUSE');
    assert.equal(await tryListen('127.0.0.1', base + 1), 'EADDRINUSE');
    // portmap's OUTPUT-chain DNAT runs before local delivery, so the reserver's socket never sees this.
    assert.equal(await get(`http://127.0.0.1:${base}/`), 'from the netns\n');
    assert.equal(await get(`http://127.0.0.1:${base + 1}/`), 'from the netns\n');
  });

  it('releases the ports on stop while the forward keeps working until CNI DEL', async () => {
    await stopPortReserver(slot.dir);
    assert.equal(await tryListen('127.0.0.1', base + 1), 'OK');
    assert.equal(await get(`http://127.0.0.1:${base}/`), 'from the netns\n');
    await runtime.delNetworkList(list, rt);
    assert.deepEqual(await iptablesLinesWith(slot.containerId), []);
  });
});
