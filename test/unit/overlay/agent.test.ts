import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { OverlayAgentLoop } from '../../../src/app/overlay/agent.ts';
import { formatNet, leaseAttrs, type Peer } from '../../../src/domain/overlay/flannel.ts';
import { FakeNameStore } from './fake-names.ts';
import type { EtcdLease, FlannelStore, KeyValue, OverlayHost, OverlayHostState, VxlanDevice } from '../../../src/interfaces/overlay.ts';

/** etcd as a map, with a watch that reports every put and delete. */
class FakeStore implements FlannelStore {
  kv = new Map<string, string>();
  names = new FakeNameStore();
  revoked: string[] = [];
  down = false;
  private nextLease = 100;
  private watchers: ((why: string) => void)[] = [];

  private check(): void {
    if (this.down) throw new Error('etcd is down');
  }
  async readConfig() {
    this.check();
    return this.kv.get('/p/config');
  }
  async createConfig(value: string) {
    this.check();
    if (this.kv.has('/p/config')) return false;
    this.kv.set('/p/config', value);
    return true;
  }
  async deleteConfig() {
    this.kv.delete('/p/config');
  }
  async listLeases(): Promise<KeyValue[]> {
    this.check();
    return [...this.kv].filter(([k]) => k.startsWith('/p/subnets/')).map(([key, value]) => ({ key, value }));
  }
  async putLease(key: string, value: string, _ttl: number, allow: (c: string | undefined) => boolean): Promise<EtcdLease | undefined> {
    this.check();
    if (!allow(this.kv.get(key))) return undefined;
    this.set(key, value);
    return { id: String(this.nextLease++), keepAlive: async () => this.kv.has(key) };
  }
  async deleteLease(key: string) {
    return this.kv.delete(key);
  }
  async revoke(id: string) {
    this.revoked.push(id);
  }
  async watchLeases(onChange: (why: string) => void) {
    this.watchers.push(onChange);
    return { cancel: async () => undefined };
  }
  close() {}
  set(key: string, value: string): void {
    this.kv.set(key, value);
    for (const w of this.watchers) w(`put ${key}`);
  }
  del(key: string): void {
    this.kv.delete(key);
    for (const w of this.watchers) w(`delete ${key}`);
  }
}

class FakeHost implements OverlayHost {
  devices: VxlanDevice[] = [];
  peers: Peer[] = [];
  masq: string[] = [];
  async underlay() {
    return { ip: '10.0.0.1', iface: 'eth0', mtu: 1500 };
  }
  async ensureDevice(d: VxlanDevice) {
    this.devices.push(d);
  }
  async syncPeers(_device: string, peers: readonly Peer[]) {
    this.peers = [...peers];
  }
  async ensureMasquerade(vni: number, network: string, subnet: string) {
    this.masq.push(`${vni} ${network} ${subnet}`);
  }
  async masqueradeIntact() {
    return this.masq.length > 0;
  }
  async teardown() {}
  async deviceExists() {
    return this.devices.length > 0;
  }
}

const state: OverlayHostState = {
  namespace: 'default',
  name: 'ovl',
  etcdEndpoints: ['http://e:2379'],
  etcdPrefix: '/p',
  network: '10.5.0.0/16',
  subnet: '10.5.1.0/24',
  vni: 7,
  port: 8472,
  publicIp: '10.0.0.1',
  iface: 'eth0',
  vtepMac: '02:00:00:00:00:01',
  mtu: 1450,
  device: 'flannel.7',
  leaseId: '42',
};

async function settle(): Promise<void> {
  await sleep(30);
}

describe('overlay agent loop', () => {
  it('sets the device up from local state alone, then claims its lease and programs the peers', async () => {
    const store = new FakeStore();
    store.down = true;
    const host = new FakeHost();
    const saved: OverlayHostState[] = [];
    const loop = new OverlayAgentLoop({ store, host, saveState: async (s) => void saved.push(s), log: () => undefined }, state);
    await loop.setUpDevice();
    assert.deepEqual(host.devices[0], {
      name: 'flannel.7',
      vni: 7,
      port: 8472,
      localIp: '10.0.0.1',
      iface: 'eth0',
      mac: '02:00:00:00:00:01',
      mtu: 1450,
      address: '10.5.1.0',
    });
    assert.deepEqual(host.masq, ['7 10.5.0.0/16 10.5.1.0/24']);
    await loop.start();
    await settle();
    assert.equal(store.kv.size, 0, 'nothing written while etcd is down');
    store.down = false;
    store.set('/p/subnets/10.5.2.0-24', JSON.stringify(leaseAttrs('10.0.0.2', 7, '02:00:00:00:00:02')));
    await settle();
    assert.equal(store.kv.get('/p/subnets/10.5.1.0-24'), JSON.stringify(leaseAttrs('10.0.0.1', 7, '02:00:00:00:00:01')));
    assert.deepEqual(store.revoked, ['42'], 'the lease of the previous run is revoked');
    assert.equal(saved.at(-1)?.leaseId, '100');
    assert.deepEqual(
      host.peers.map((p) => [formatNet(p.subnet), p.publicIp, p.vtepMac]),
      [['10.5.2.0/24', '10.0.0.2', '02:00:00:00:00:02']],
    );
    await loop.stop();
  });

  it('follows leases coming and going, and claims its own key again when it disappears', async () => {
    const store = new FakeStore();
    const host = new FakeHost();
    const loop = new OverlayAgentLoop({ store, host, saveState: async () => undefined, log: () => undefined }, state);
    await loop.start();
    await settle();
    store.set('/p/subnets/10.5.3.0-24', JSON.stringify(leaseAttrs('10.0.0.3', 7, '02:00:00:00:00:03')));
    store.set('/p/subnets/10.5.4.0-24', JSON.stringify(leaseAttrs('10.0.0.4', 7, '02:00:00:00:00:04')));
    await settle();
    assert.deepEqual(
      host.peers.map((p) => p.publicIp),
      ['10.0.0.3', '10.0.0.4'],
    );
    store.del('/p/subnets/10.5.3.0-24');
    store.del('/p/subnets/10.5.1.0-24');
    await settle();
    assert.deepEqual(
      host.peers.map((p) => p.publicIp),
      ['10.0.0.4'],
    );
    assert.ok(store.kv.has('/p/subnets/10.5.1.0-24'), 'own lease claimed again');
    await loop.stop();
  });

  it('does not take its subnet back from another host', async () => {
    const store = new FakeStore();
    const other = JSON.stringify(leaseAttrs('10.0.0.9', 7, '02:00:00:00:00:09'));
    store.kv.set('/p/subnets/10.5.1.0-24', other);
    const lines: string[] = [];
    const loop = new OverlayAgentLoop({ store, host: new FakeHost(), saveState: async () => undefined, log: (l) => lines.push(l) }, state);
    await loop.start();
    await settle();
    await loop.stop();
    assert.equal(store.kv.get('/p/subnets/10.5.1.0-24'), other);
    assert.ok(
      lines.some((l) => /subnet 10\.5\.1\.0\/24 is leased to another host/.test(l)),
      lines.join('\n'),
    );
  });
});
