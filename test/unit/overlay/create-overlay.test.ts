import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOverlayNetwork } from '../../../src/app/overlay/create-overlay.ts';
import { leaveOverlay } from '../../../src/app/overlay/leave-overlay.ts';
import type { NetworksDeps } from '../../../src/app/networks/deps.ts';
import type { EtcdLease, FlannelStore, KeyValue, OverlayDeps, OverlayHostState } from '../../../src/interfaces/overlay.ts';
import { templates } from '../networks/helpers.ts';
import { FakeNameStore } from './fake-names.ts';

/** etcd under the default prefix as a map; `onConfigCreated` lets another host act right after the create. */
class FakeEtcd implements FlannelStore {
  kv = new Map<string, string>();
  names = new FakeNameStore();
  onConfigCreated = (): void => undefined;
  private lease = 1;
  async readConfig() {
    return this.kv.get('/coreos.com/network/config');
  }
  async createConfig(value: string) {
    if (this.kv.has('/coreos.com/network/config')) return false;
    this.kv.set('/coreos.com/network/config', value);
    this.onConfigCreated();
    return true;
  }
  async deleteConfig(opts: { ifValue?: string } = {}) {
    const key = '/coreos.com/network/config';
    if (opts.ifValue === undefined || this.kv.get(key) === opts.ifValue) this.kv.delete(key);
  }
  async listLeases(): Promise<KeyValue[]> {
    return [...this.kv].filter(([k]) => k.startsWith('/coreos.com/network/subnets/')).map(([key, value]) => ({ key, value }));
  }
  async putLease(key: string, value: string, _ttl: number, allow: (c: string | undefined) => boolean): Promise<EtcdLease | undefined> {
    if (!allow(this.kv.get(key))) return undefined;
    this.kv.set(key, value);
    return { id: String(this.lease++), keepAlive: async () => true };
  }
  async deleteLease(key: string, allow: (c: string) => boolean) {
    const v = this.kv.get(key);
    return v !== undefined && allow(v) && this.kv.delete(key);
  }
  revoked: string[] = [];
  async revoke(id: string) {
    this.revoked.push(id);
  }
  async watchLeases() {
    return { cancel: async () => undefined };
  }
  close() {}
}

function fixture(etcd: FakeEtcd, opts: { agentFails?: boolean } = {}) {
  const files = new Map<string, string>();
  const bridges = new Map<string, string>();
  const states = new Map<string, OverlayHostState>();
  const warnings: string[] = [];
  const removedNames: string[] = [];
  const overlay: OverlayDeps = {
    connect: async () => etcd,
    host: {
      underlay: async () => ({ ip: '192.0.2.10', iface: 'eth0', mtu: 1500 }),
      ensureDevice: async () => undefined,
      syncPeers: async () => undefined,
      ensureMasquerade: async () => undefined,
      masqueradeIntact: async () => true,
      teardown: async () => undefined,
      deviceExists: async () => false,
    },
    states: {
      dir: (ns, name) => `/o/${ns}/${name}`,
      read: async (ns, name) => states.get(`${ns}/${name}`),
      write: async (s) => void states.set(`${s.namespace}/${s.name}`, s),
      remove: async (ns, name) => void states.delete(`${ns}/${name}`),
      list: async () => [...states.values()],
    },
    agents: {
      // The agent cannot start: the create fails at its last step and is undone.
      ensure: async () => {
        if (opts.agentFails ?? true) throw new Error('agent failed to start');
      },
      stop: async () => undefined,
      pid: async () => undefined,
      supervisorPid: async () => undefined,
      running: async () => false,
    },
    remoteNames: { remove: async (ns: string, name: string) => void removedNames.push(`${ns}/${name}`) },
    randomBytes: (n) => new Uint8Array(n).fill(7),
  };
  const deps = {
    confDir: {
      list: async () => ({ files: [], warnings: [] }),
      create: async (path: string, content: string) => void files.set(path, content),
      remove: async (path: string) => void files.delete(path),
      withLock: <T>(fn: () => Promise<T>) => fn(),
    },
    host: {
      machineId: async () => 'f00dfeed',
      interfaceSubnets: async () => [],
      missingPlugins: async () => [],
      pluginAbout: async () => 'CNI firewall plugin v1.7.1',
      deleteLink: async () => undefined,
      templates: async () => templates(),
    },
    containers: { attachments: async () => [] },
    netconfPath: '/c',
    cniPath: '/usr/lib/cni',
    namespace: 'fx',
    warn: (line: string) => void warnings.push(line),
    overlay: async () => overlay,
    bridges: {
      record: async (b: { link: string; file: string }) => {
        if (bridges.has(b.link)) return async () => undefined;
        bridges.set(b.link, b.file);
        return async () => void bridges.delete(b.link);
      },
      forget: async (link: string) => void bridges.delete(link),
      list: async () => [],
    },
  } as unknown as NetworksDeps;
  return { deps, files, states, warnings, bridges, removedNames };
}

const input = { name: 'fxo', driver: 'overlay', etcdEndpoints: 'http://127.0.0.1:2379', subnets: ['10.239.0.0/16'] };

describe('overlay network create, undone', () => {
  it('takes out the config it wrote and its own lease, files and state', async () => {
    const etcd = new FakeEtcd();
    const { deps, files, states, bridges } = fixture(etcd);
    await assert.rejects(createOverlayNetwork(deps, input), /agent failed to start/);
    assert.deepEqual([...etcd.kv.keys()], []);
    assert.equal(files.size, 0);
    assert.equal(states.size, 0);
    assert.equal(bridges.size, 0);
  });

  it("records the local bridge with the conflist, as a bridge network's (gc reclaims it once the conflist is deleted by hand)", async () => {
    const { deps, files, bridges } = fixture(new FakeEtcd(), { agentFails: false });
    await createOverlayNetwork(deps, input);
    assert.deepEqual([...bridges], [['br-' + JSON.parse([...files.values()][0]!).nerdctlID.slice(0, 12), '/c/fx/nerdctl-fxo.conflist']]);
  });

  it('keeps the config when another host joined it meanwhile (its lease and the config are its too)', async () => {
    const etcd = new FakeEtcd();
    etcd.onConfigCreated = () => etcd.kv.set('/coreos.com/network/subnets/10.239.7.0-24', '{"PublicIP":"192.0.2.20"}');
    const { deps, warnings } = fixture(etcd);
    await assert.rejects(createOverlayNetwork(deps, input), /agent failed to start/);
    assert.deepEqual([...etcd.kv.keys()].sort(), ['/coreos.com/network/config', '/coreos.com/network/subnets/10.239.7.0-24']);
    assert.deepEqual(warnings, ['the overlay config at /coreos.com/network/config stays in etcd: another host joined it']);
  });
});

describe('overlay network rm: the DNS names', () => {
  it("deletes this host's names and revokes their lease, keeps the other hosts'; on the last host with --force, all of tsnerd's keys go", async () => {
    const etcd = new FakeEtcd();
    const { deps, states, removedNames } = fixture(etcd, { agentFails: false });
    await createOverlayNetwork(deps, input);
    const state = states.get('fx/fxo')!;
    states.set('fx/fxo', { ...state, namesLeaseId: '77' });
    const own = `/coreos.com/network/tsnerd/names/${state.subnet.replace('/', '-')}/fx/c1`;
    const other = '/coreos.com/network/tsnerd/names/10.239.200.0-24/fx/c2';
    etcd.names.putForeign(own, '{}', '77');
    etcd.names.putForeign(other, '{}', '88');
    const ref = { etcdEndpoints: ['http://127.0.0.1:2379'], etcdPrefix: '/coreos.com/network' };
    // Another host still holds a lease: its names and the config stay.
    etcd.kv.set('/coreos.com/network/subnets/10.239.200.0-24', '{"PublicIP":"192.0.2.20"}');
    await leaveOverlay(deps, 'fxo', ref, { deleteConfig: true });
    assert.deepEqual([...etcd.names.kv.keys()], [other]);
    assert.ok(etcd.revoked.includes('77'), 'the names lease is revoked');
    assert.deepEqual(removedNames, ['fx/fxo']);

    // The last host's rm --force (its own state already gone here): the other host's leftovers go with the config.
    etcd.kv.delete('/coreos.com/network/subnets/10.239.200.0-24');
    states.set('fx/fxo', { ...state, namesLeaseId: undefined });
    await leaveOverlay(deps, 'fxo', ref, { deleteConfig: true });
    assert.deepEqual([...etcd.names.kv.keys()], []);
    assert.equal(etcd.kv.has('/coreos.com/network/config'), false);
  });
});
