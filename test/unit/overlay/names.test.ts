import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { OverlayNamesLoop } from '../../../src/app/overlay/names.ts';
import { applyJoin, emptyRecordSet, type DnsRecordSet, type RemoteRecordSet } from '../../../src/domain/dns/records.ts';
import { DnsZones } from '../../../src/domain/dns/zone.ts';
import { FakeNameStore } from './fake-names.ts';

const PREFIX = '/p';
const OWN = '/p/tsnerd/names/10.5.1.0-24/';
const OTHER = '/p/tsnerd/names/10.5.2.0-24/';
const SUBNET = { base: (10 << 24) + (5 << 16) + (1 << 8), prefix: 24 };

function record(id: string, network: string, ip: string, names = [id]): DnsRecordSet {
  return applyJoin(emptyRecordSet(), {
    namespace: 'ns',
    id,
    endpoints: [{ network, record: { gateways: ['10.5.1.1'], internal: false }, names, aliases: [], ips: [ip] }],
  });
}

function merge(...sets: DnsRecordSet[]): DnsRecordSet {
  return sets.reduce(
    (a, b) => ({ networks: { ...a.networks, ...b.networks }, endpoints: { ...a.endpoints, ...b.endpoints } }),
    emptyRecordSet(),
  );
}

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (fn()) return;
    await sleep(5);
  }
  assert.fail(`not reached: ${what}`);
}

function fixture(store: FakeNameStore, previousLeaseId?: string) {
  const io = { local: emptyRecordSet(), remote: undefined as RemoteRecordSet | undefined, leaseIds: [] as string[], log: [] as string[] };
  const loop = new OverlayNamesLoop(
    {
      store,
      revoke: (id) => store.revoke(id),
      readLocal: async () => io.local,
      writeRemote: async (set) => void (io.remote = set),
      saveLeaseId: async (id) => void io.leaseIds.push(id),
      log: (line) => io.log.push(line),
    },
    { namespace: 'ns', name: 'ovl', etcdPrefix: PREFIX, subnet: SUBNET, previousLeaseId },
  );
  return { loop, io };
}

const web = (ip: string) => JSON.stringify({ names: ['web'], aliases: [], ips: [ip] });

describe('overlay names: publish and watch (agent)', () => {
  it("publishes this host's containers of its network only, keeps the other hosts' records for the resolver, follows removals", async () => {
    const store = new FakeNameStore();
    store.putForeign(`${OTHER}ns2/c1`, web('10.5.2.2'));
    const { loop, io } = fixture(store);
    io.local = merge(record('a1', 'ovl', '10.5.1.2', ['cli']), record('b1', 'bridge-net', '10.9.0.2'));
    await loop.start();
    await until('published', () => store.kv.size === 2 && io.remote !== undefined);
    assert.deepEqual(JSON.parse(store.kv.get(`${OWN}ns/a1`)!.value), { names: ['cli'], aliases: [], ips: ['10.5.1.2'] });
    assert.deepEqual(io.remote, {
      network: 'ns/ovl',
      endpoints: { '10.5.2.0-24/ns2/c1': { names: ['web'], aliases: [], ips: ['10.5.2.2'] } },
    });
    assert.equal(store.kv.get(`${OWN}ns/a1`)!.lease, io.leaseIds[0]);

    io.local = emptyRecordSet();
    loop.localChanged();
    await until('own record deleted', () => !store.kv.has(`${OWN}ns/a1`));
    await store.delete(`${OTHER}ns2/c1`);
    await until('remote record gone', () => Object.keys(io.remote!.endpoints).length === 0);
    await loop.stop();
  });

  it('after a kill -9, the next agent puts the same keys on its lease, deletes the strays and revokes the old lease: nothing doubled', async () => {
    const store = new FakeNameStore();
    const first = fixture(store);
    first.io.local = merge(record('a1', 'ovl', '10.5.1.2'), record('a2', 'ovl', '10.5.1.3'));
    await first.loop.start();
    await until('published', () => store.kv.size === 2);
    const oldLease = first.io.leaseIds[0]!;
    await first.loop.stop(); // as killed: nothing taken back
    // a2 was removed while no agent ran
    const second = fixture(store, oldLease);
    second.io.local = record('a1', 'ovl', '10.5.1.2');
    await second.loop.start();
    await until('converged', () => store.revoked.includes(oldLease));
    assert.deepEqual([...store.kv.keys()], [`${OWN}ns/a1`]);
    assert.equal(store.kv.get(`${OWN}ns/a1`)!.lease, second.io.leaseIds[0]);
    assert.notEqual(second.io.leaseIds[0], oldLease);
    await second.loop.stop();
  });

  it('a lease etcd dropped (cut off past the TTL) is granted anew and the records put again', async () => {
    const store = new FakeNameStore();
    const { loop, io } = fixture(store);
    io.local = record('a1', 'ovl', '10.5.1.2');
    await loop.start();
    await until('published', () => store.kv.size === 1);
    store.expire(io.leaseIds[0]!);
    await until('published again', () => store.kv.size === 1 && io.leaseIds.length === 2);
    assert.equal(store.kv.get(`${OWN}ns/a1`)!.lease, io.leaseIds[1]);
    await loop.stop();
  });

  it('through an etcd outage the last known names stay; after it, etcd and the file converge', async () => {
    const store = new FakeNameStore();
    store.putForeign(`${OTHER}ns2/c1`, web('10.5.2.2'));
    const { loop, io } = fixture(store);
    io.local = record('a1', 'ovl', '10.5.1.2');
    await loop.start();
    await until('published', () => store.kv.size === 2 && io.remote !== undefined);
    store.down = true;
    io.local = emptyRecordSet();
    loop.localChanged();
    await sleep(300);
    assert.equal(Object.keys(io.remote!.endpoints).length, 1, 'remote names as last known');
    store.down = false;
    store.putForeign(`${OTHER}ns2/c2`, web('10.5.2.3'));
    store.reconnect();
    await until('converged', () => !store.kv.has(`${OWN}ns/a1`) && Object.keys(io.remote!.endpoints).length === 2);
    await loop.stop();
  });
});

describe('resolver zones with other hosts names', () => {
  const local = record('a1', 'ovl', '10.5.1.2', ['web', 'cli']);
  const remote: RemoteRecordSet = {
    network: 'ns/ovl',
    endpoints: {
      '10.5.2.0-24/ns/c1': { names: ['web', 'c1'], aliases: ['db'], ips: ['10.5.2.2'] },
      '10.5.3.0-24/ns/c9': { names: ['x'], aliases: [], ips: ['10.5.3.2'] },
    },
  };
  const elsewhere: RemoteRecordSet = { network: 'ns/other', endpoints: { 'h/ns/z': { names: ['zed'], aliases: [], ips: ['10.6.0.2'] } } };
  const zones = new DnsZones(local, [remote, elsewhere]);
  const a = (name: string) => {
    const r = zones.answer('10.5.1.1', '10.5.1.2', name, 'A');
    return r.kind === 'local' ? r.answers.map((x) => x.data).sort() : r.kind;
  };

  it('answers remote names, aliases and NAME.NETWORK; a name on two hosts gets both addresses', () => {
    assert.deepEqual(a('c1'), ['10.5.2.2']);
    assert.deepEqual(a('db.ovl'), ['10.5.2.2']);
    assert.deepEqual(a('web'), ['10.5.1.2', '10.5.2.2']);
    assert.deepEqual(a('nope.ovl'), []);
  });

  it('answers PTR of remote addresses; names of a network not on this host are not served', () => {
    const r = zones.answer('10.5.1.1', '10.5.1.2', '2.2.5.10.in-addr.arpa', 'PTR');
    assert.ok(r.kind === 'local' && r.answers[0]!.data === 'web.ovl');
    assert.equal(a('zed'), 'forward');
  });
});
