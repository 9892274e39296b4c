import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyJoin, applyLeave, emptyRecordSet, hasEndpoints, parseRecordSet, type DnsRecordSet } from '../../../src/domain/dns/records.ts';
import { DnsZones, reverseName } from '../../../src/domain/dns/zone.ts';

const GW = '10.216.1.1';
const GW_INTERNAL = '10.216.2.1';

function sample(): DnsRecordSet {
  let set = emptyRecordSet();
  const net = { gateways: [GW, 'fd00:216:1::1'], internal: false };
  set = applyJoin(set, {
    namespace: 'default',
    id: 'aaaa1111',
    endpoints: [{ network: 'dns-app', record: net, names: ['a', 'host-a'], aliases: ['db'], ips: ['10.216.1.2', 'fd00:216:1::2'] }],
  });
  set = applyJoin(set, {
    namespace: 'default',
    id: 'bbbb2222',
    endpoints: [{ network: 'dns-app', record: net, names: ['b'], aliases: ['db'], ips: ['10.216.1.3'] }],
  });
  set = applyJoin(set, {
    namespace: 'default',
    id: 'cccc3333',
    endpoints: [
      { network: 'dns-other', record: { gateways: [GW_INTERNAL], internal: true }, names: ['c'], aliases: [], ips: ['10.216.2.2'] },
    ],
  });
  return set;
}

describe('DnsZones', () => {
  const zones = new DnsZones(sample());

  it('answers a container name, its hostname and NAME.NETWORK with its addresses', () => {
    for (const q of ['a', 'host-a', 'a.dns-app', 'A.DNS-APP.']) {
      const r = zones.answer(GW, '10.216.1.200', q, 'A');
      assert.equal(r.kind, 'local');
      assert.deepEqual(r.kind === 'local' && r.answers.map((x) => [x.name, x.data]), [[q, '10.216.1.2']]);
    }
    const v6 = zones.answer(GW, '10.216.1.200', 'a', 'AAAA');
    assert.deepEqual(v6.kind === 'local' && v6.answers.map((x) => x.data), ['fd00:216:1::2']);
  });

  it('gives a name without addresses of the asked family no answers, not NXDOMAIN', () => {
    assert.deepEqual(zones.answer(GW, '10.216.1.200', 'b', 'AAAA'), { kind: 'local', rcode: 'NOERROR', answers: [] });
  });

  it('rotates the addresses of a shared alias', () => {
    const first = zones.answer(GW, '10.216.1.200', 'db', 'A');
    const second = zones.answer(GW, '10.216.1.200', 'db', 'A');
    const ips = (r: typeof first) => (r.kind === 'local' ? r.answers.map((x) => x.data) : []);
    assert.deepEqual(new Set(ips(first)), new Set(['10.216.1.2', '10.216.1.3']));
    assert.notEqual(ips(first)[0], ips(second)[0]);
  });

  it('answers PTR for container addresses with NAME.NETWORK', () => {
    const r = zones.answer(GW, '10.216.1.200', reverseName('10.216.1.3'), 'PTR');
    assert.deepEqual(r.kind === 'local' && r.answers.map((x) => x.data), ['b.dns-app']);
    const r6 = zones.answer(GW, '10.216.1.200', reverseName('fd00:216:1::2'), 'PTR');
    assert.deepEqual(r6.kind === 'local' && r6.answers.map((x) => x.data), ['a.dns-app']);
  });

  it("does not show another network's names", () => {
    assert.equal(zones.answer(GW, '10.216.1.200', 'c', 'A').kind, 'forward');
    assert.deepEqual(zones.answer(GW, '10.216.1.200', 'c.dns-other', 'A'), { kind: 'forward' });
  });

  it("answers NXDOMAIN for unknown names in the network's own domain", () => {
    assert.deepEqual(zones.answer(GW, '10.216.1.200', 'nobody.dns-app', 'A'), { kind: 'local', rcode: 'NXDOMAIN', answers: [] });
  });

  it('forwards other names, except on an internal network', () => {
    assert.deepEqual(zones.answer(GW, '10.216.1.200', 'example.org', 'A'), { kind: 'forward' });
    assert.deepEqual(zones.answer(GW_INTERNAL, '10.216.2.200', 'example.org', 'A'), { kind: 'servfail' });
    assert.equal(zones.answer(GW_INTERNAL, '10.216.2.200', 'c', 'A').kind, 'local');
  });

  it('gives a container on two networks the names of both, whichever gateway it asks', () => {
    const set = applyJoin(sample(), {
      namespace: 'default',
      id: 'dddd4444',
      endpoints: [
        { network: 'dns-app', record: { gateways: [GW], internal: false }, names: ['d'], aliases: [], ips: ['10.216.1.4'] },
        { network: 'dns-other', record: { gateways: [GW_INTERNAL], internal: true }, names: ['d'], aliases: [], ips: ['10.216.2.4'] },
      ],
    });
    const z = new DnsZones(set);
    const c = z.answer(GW, '10.216.1.4', 'c.dns-other', 'A');
    assert.deepEqual(c.kind === 'local' && c.answers.map((x) => x.data), ['10.216.2.2']);
    assert.equal(z.answer(GW, '10.216.1.4', 'nobody.dns-other', 'A').kind, 'local');
    // One of its networks has a way out: it is forwarded.
    assert.equal(z.answer(GW_INTERNAL, '10.216.2.4', 'example.org', 'A').kind, 'forward');
    // c itself is on the internal network only.
    assert.equal(z.answer(GW_INTERNAL, '10.216.2.2', 'example.org', 'A').kind, 'servfail');
    assert.equal(z.answer(GW_INTERNAL, '10.216.2.2', 'a', 'A').kind, 'servfail');
  });

  it('lists the gateways to listen on', () => {
    assert.deepEqual(zones.gateways().sort(), [GW, GW_INTERNAL, 'fd00:216:1::1'].sort());
  });
});

describe('record set changes', () => {
  it('drops a container and the networks nobody uses any more', () => {
    let set = sample();
    set = applyLeave(set, 'default', 'cccc3333');
    assert.deepEqual(Object.keys(set.networks), ['default/dns-app']);
    set = applyLeave(applyLeave(set, 'default', 'aaaa1111'), 'default', 'bbbb2222');
    assert.equal(hasEndpoints(set), false);
    assert.deepEqual(set.networks, {});
  });

  it('replaces the endpoints of a container that joins again', () => {
    const set = applyJoin(sample(), {
      namespace: 'default',
      id: 'bbbb2222',
      endpoints: [{ network: 'dns-app', record: { gateways: [GW], internal: false }, names: ['b'], aliases: [], ips: ['10.216.1.9'] }],
    });
    const r = new DnsZones(set).answer(GW, '10.216.1.200', 'b', 'A');
    assert.deepEqual(r.kind === 'local' && r.answers.map((x) => x.data), ['10.216.1.9']);
  });
});

describe('containerd namespaces', () => {
  /** Network dns-app in namespaces ns1 and ns2, both on one bridge (one gateway): a "web" in each. */
  function twoNamespaces(): DnsRecordSet {
    const net = { gateways: [GW], internal: false };
    let set = emptyRecordSet();
    for (const [namespace, ip, extra] of [
      ['ns1', '10.216.1.2', 'only1'],
      ['ns2', '10.216.1.3', 'only2'],
    ] as const) {
      set = applyJoin(set, {
        namespace,
        id: 'web1',
        endpoints: [{ network: 'dns-app', record: net, names: ['web'], aliases: [extra], ips: [ip] }],
      });
    }
    return set;
  }

  it("keeps a network's names to its own namespace, even with a network of the same name and bridge in another", () => {
    const z = new DnsZones(twoNamespaces());
    const from1 = z.answer(GW, '10.216.1.2', 'web', 'A');
    assert.deepEqual(from1.kind === 'local' && from1.answers.map((x) => x.data), ['10.216.1.2']);
    const from2 = z.answer(GW, '10.216.1.3', 'web.dns-app', 'A');
    assert.deepEqual(from2.kind === 'local' && from2.answers.map((x) => x.data), ['10.216.1.3']);
    assert.deepEqual(z.answer(GW, '10.216.1.2', 'only2', 'A'), { kind: 'forward' });
    assert.deepEqual(z.answer(GW, '10.216.1.2', 'only2.dns-app', 'A'), { kind: 'local', rcode: 'NXDOMAIN', answers: [] });
    // The host (no container's address) asking at the gateway sees the names of both (a name in both: the first namespace's).
    for (const [name, ip] of [
      ['only1', '10.216.1.2'],
      ['only2', '10.216.1.3'],
    ]) {
      const host = z.answer(GW, '10.216.1.1', name!, 'A');
      assert.deepEqual(host.kind === 'local' && host.answers.map((x) => x.data), [ip]);
    }
  });

  it("keeps both namespaces' gateways and records when one leaves", () => {
    const set = applyLeave(twoNamespaces(), 'ns1', 'web1');
    assert.deepEqual(Object.keys(set.networks), ['ns2/dns-app']);
    assert.deepEqual(new DnsZones(set).gateways(), [GW]);
  });

  it('reads a record set whose networks are keyed by name alone (written before namespaces)', () => {
    const legacy = {
      networks: { 'dns-app': { gateways: [GW], internal: false } },
      endpoints: {
        'default/aaaa/dns-app': { network: 'dns-app', namespace: 'default', id: 'aaaa', names: ['a'], aliases: [], ips: ['10.216.1.2'] },
      },
    };
    const set = parseRecordSet(legacy);
    assert.deepEqual(Object.keys(set.networks), ['default/dns-app']);
    const r = new DnsZones(set).answer(GW, '10.216.1.9', 'a', 'A');
    assert.deepEqual(r.kind === 'local' && r.answers.map((x) => x.data), ['10.216.1.2']);
  });

  it("a network's port (dns_bind_port) is read back and listened on; a record without one is on the default port; a bad one is refused", () => {
    const set = parseRecordSet({
      networks: {
        'default/moved': { gateways: [GW], internal: false, port: 44253 },
        'default/plain': { gateways: ['10.216.2.1'], internal: false },
      },
      endpoints: {},
    });
    assert.deepEqual(new DnsZones(set).listenAddresses(53), [
      { gateway: GW, port: 44253 },
      { gateway: '10.216.2.1', port: 53 },
    ]);
    assert.throws(
      () => parseRecordSet({ networks: { 'default/x': { gateways: [GW], internal: false, port: 0 } }, endpoints: {} }),
      /port is not a port number/,
    );
    assert.throws(
      () => parseRecordSet({ networks: { 'default/x': { gateways: [GW], internal: false, port: '53' } }, endpoints: {} }),
      /port is not a port number/,
    );
  });
});

describe('reverseName', () => {
  it('writes in-addr.arpa and nibble ip6.arpa names', () => {
    assert.equal(reverseName('10.216.1.3'), '3.1.216.10.in-addr.arpa');
    assert.equal(reverseName('fd00::1'), `1.${'0.'.repeat(27)}0.0.d.f.ip6.arpa`);
  });
});
