/**
 * The port reserver beside portmap's DNAT, with the Debian plugins in a throwaway netns.
 * Resources of this file: bridge tprt0 on 10.229.7.0/24, netns tprt-*, host ports
 * 38900-38999. Every test undoes its attachment and reserver in t.after.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { execa, type ResultPromise } from 'execa';

import { ExecCniRuntime } from '../../../src/adapters/cni/exec-cni-runtime.ts';
import { ProcessPortReserver } from '../../../src/adapters/host/process-port-reserver.ts';
import { toNerdctlPortMapping } from '../../../src/domain/publish/stored-port-mapping.ts';
import { parseConfList, type NetworkConfigList } from '../../../src/domain/cni/net-conf.ts';
import { parsePublishSpecs, resolvePortMappings, type PortMapping } from '../../../src/domain/publish/index.ts';
import type { RuntimeConf } from '../../../src/interfaces/cni.ts';
import { iptablesLinesWith, releaseSlot, type Slot } from '../cni/netns-fixture.ts';
import { httpGet, tryListen } from '../helpers.ts';

const BRIDGE = 'tprt0';
const SUBNET = '10.229.7.0/24';
const GATEWAY = '10.229.7.1';
/** This file's host ports are 38900-38999; each test uses two. */
const BASE = 38900;

/** A netns on the bridge with an httpd, portmap's forwards of BASE and 127.0.0.1:BASE+1, all undone after the test. */
async function forwarded(t: TestContext) {
  const rand = randomBytes(4).toString('hex');
  const slot: Slot = {
    index: 0,
    bridge: BRIDGE,
    subnet: SUBNET,
    gateway: GATEWAY,
    netns: `tprt-${rand}`,
    netnsPath: `/var/run/netns/tprt-${rand}`,
    containerId: `tprt-${rand}-${randomBytes(8).toString('hex')}`,
    dir: await mkdtemp(join(tmpdir(), 'tsnerd-ports-e2e-')),
  };
  const list: NetworkConfigList = parseConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'tprt-net',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]], dataDir: join(slot.dir, 'ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  const runtime = new ExecCniRuntime({ cniPath: '/usr/lib/cni', cacheDir: join(slot.dir, 'cache') });
  const mappings: PortMapping[] = resolvePortMappings(parsePublishSpecs([`${BASE}:8080`, `127.0.0.1:${BASE + 1}:8080`]), []);
  const rt: RuntimeConf = {
    containerId: slot.containerId,
    netns: slot.netnsPath,
    ifName: 'eth0',
    args: [['IgnoreUnknown', '1']],
    capabilityArgs: { portMappings: mappings },
  };
  assert.notEqual((await execa('ip', ['link', 'show', BRIDGE], { reject: false })).exitCode, 0, `${BRIDGE} already exists`);
  let server: ResultPromise | undefined;
  // The data root's port holder; it exits by itself once its last reservation is released.
  const reserver = new ProcessPortReserver(join(slot.dir, 'data'));
  t.after(async () => {
    server?.kill('SIGKILL');
    await server?.catch(() => undefined);
    await reserver.stop(slot.dir).catch(() => undefined);
    await runtime.delNetworkList(list, rt).catch(() => undefined);
    await releaseSlot(slot);
  });
  await execa('ip', ['netns', 'add', slot.netns]);
  const added = await runtime.addNetworkList(list, rt);
  const ip = added.ips[0]!.address.split('/')[0]!;
  const www = join(slot.dir, 'www');
  await mkdir(www);
  await writeFile(join(www, 'index.html'), 'from the netns\n');
  server = execa('ip', ['netns', 'exec', slot.netns, '/bin/busybox', 'httpd', '-f', '-p', `${ip}:8080`, '-h', www]);
  server.catch(() => undefined);
  assert.equal(await httpGet(`http://${ip}:8080/`), 'from the netns\n');
  return { slot, list, runtime, rt, mappings, reserver };
}

describe('a reserved host port that portmap DNATs to a netns', { timeout: 120_000 }, () => {
  it('still forwards 127.0.0.1 traffic to the container while the reserver holds the port', async (t) => {
    const { slot, mappings, reserver } = await forwarded(t);
    await reserver.start(mappings.map(toNerdctlPortMapping), slot.dir);
    assert.ok((await reserver.holderPid()) !== undefined);
    assert.equal(await tryListen('0.0.0.0', BASE), 'EADDRINUSE');
    assert.equal(await tryListen('127.0.0.1', BASE + 1), 'EADDRINUSE');
    // portmap's OUTPUT-chain DNAT runs before local delivery, so the reserver's socket never sees this.
    assert.equal(await httpGet(`http://127.0.0.1:${BASE}/`), 'from the netns\n');
    assert.equal(await httpGet(`http://127.0.0.1:${BASE + 1}/`), 'from the netns\n');
  });

  it('releases the ports on stop while the forward keeps working until CNI DEL', async (t) => {
    const { slot, list, runtime, rt, mappings, reserver } = await forwarded(t);
    await reserver.start(mappings.map(toNerdctlPortMapping), slot.dir);
    assert.equal(await tryListen('127.0.0.1', BASE + 1), 'EADDRINUSE');
    await reserver.stop(slot.dir);
    assert.equal(await tryListen('127.0.0.1', BASE + 1), 'OK');
    assert.equal(await httpGet(`http://127.0.0.1:${BASE}/`), 'from the netns\n');
    await runtime.delNetworkList(list, rt);
    assert.deepEqual(await iptablesLinesWith(slot.containerId), []);
  });
});
