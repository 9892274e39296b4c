import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnyConflist } from '../../../src/domain/network/conflist-schema.ts';
import { toDockerNetwork } from '../../../src/domain/network/inspect-view.ts';
import { listRows } from '../../../src/domain/network/list-view.ts';
import { findNetworks, resolveNetwork } from '../../../src/domain/network/network-lookup.ts';
import { allocatedSubnets } from '../../../src/domain/network/subnet-pick.ts';
import { bridgeLinkName, isInternal, networkFromConflist, networkOptions, networkSubnets } from '../../../src/domain/network/network.ts';
import { fixture } from './helpers.ts';

const fromFixture = (name: string, path = `/c/ns/${name}`) =>
  networkFromConflist(path, AnyConflist.parse(JSON.parse(fixture(name))), new Date(0));

const handWritten = networkFromConflist(
  '/c/10-hand.conf',
  AnyConflist.parse({
    cniVersion: '0.4.0',
    name: 'hand',
    plugins: [
      { type: 'bridge', bridge: 'hb0', isGateway: true, ipam: { type: 'host-local', subnet: '10.9.0.0/16', gateway: '10.9.0.254' } },
    ],
  }),
);

describe('network facts read from any conflist', () => {
  it('reads subnets from ranges and from the older single-subnet host-local form', () => {
    assert.deepEqual(networkSubnets(fromFixture('foo-ip-range.conflist')), [
      { subnet: '10.5.0.0/16', gateway: '10.5.0.1', ipRange: '10.5.1.0/24' },
    ]);
    assert.deepEqual(networkSubnets(handWritten), [{ subnet: '10.9.0.0/16', gateway: '10.9.0.254', ipRange: undefined }]);
  });

  it('counts only bridge + host-local subnets for automatic allocation', () => {
    assert.deepEqual(
      allocatedSubnets(fromFixture('foo-dual-stack.conflist')).map((c) => c.text),
      ['2001:db8::/64', '10.4.2.0/24'],
    );
    assert.deepEqual(
      allocatedSubnets(handWritten).map((c) => c.text),
      ['10.9.0.0/16'],
    );
    assert.deepEqual(allocatedSubnets(fromFixture('mac0-macvlan.conflist')), []);
  });

  it('derives internal, options and the bridge link', () => {
    const internal = fromFixture('foo-internal-mtu.conflist');
    assert.equal(isInternal(internal), true);
    assert.equal(isInternal(fromFixture('foo-auto.conflist')), false);
    assert.deepEqual(networkOptions(internal), { mtu: '9216' });
    assert.deepEqual(networkOptions(fromFixture('foo-no-icc-no-masq.conflist')), { 'ip-masq': 'false', icc: 'false' });
    assert.deepEqual(networkOptions(fromFixture('mac0-macvlan.conflist')), { parent: 'eth0' });
    assert.equal(bridgeLinkName(internal), 'br-2c26b46b68ff');
    assert.equal(bridgeLinkName(fromFixture('mac0-macvlan.conflist')), undefined);
  });
});

describe('lookup', () => {
  const foo = fromFixture('foo-auto.conflist');
  const mac = fromFixture('mac0-macvlan.conflist');
  // A network named like foo's short ID: the name wins over the ID prefix.
  const decoy = networkFromConflist('/c/x', AnyConflist.parse({ name: '2c26b46b68ff', plugins: [{ type: 'bridge' }] }));

  it('finds by name, then by any ID prefix', () => {
    assert.equal(resolveNetwork([foo, mac], 'foo'), foo);
    assert.equal(resolveNetwork([foo, mac], '2c26b'), foo);
    assert.equal(resolveNetwork([foo, mac, decoy], '2c26b46b68ff'), decoy);
  });

  it('with full-or-short matching accepts only the full ID or 12 hex', () => {
    assert.deepEqual(findNetworks([foo], '2c26b', 'full-or-short'), []);
    assert.deepEqual(findNetworks([foo], '2c26b46b68ff', 'full-or-short'), [foo]);
    assert.deepEqual(findNetworks([foo], foo.id!, 'full-or-short'), [foo]);
  });

  it('gives pseudo networks for host and none, and errors like nerdctl', () => {
    assert.equal(resolveNetwork([], 'host').pseudo, true);
    assert.throws(() => resolveNetwork([foo], 'nope'), { message: 'no network found matching: "nope"' });
    const twin = { ...mac, id: `${foo.id!.slice(0, 3)}ffff` };
    assert.throws(() => resolveNetwork([foo, twin], '2c2'), { message: 'multiple IDs found with provided prefix: "2c2"' });
  });
});

describe('network ls rows', () => {
  const foo = networkFromConflist(
    '/c/ns/nerdctl-foo.conflist',
    AnyConflist.parse({ ...JSON.parse(fixture('foo-auto.conflist')), nerdctlLabels: { env: 'prod', team: 'a' } }),
  );
  const all = [foo, handWritten];

  it('lists files, then host and none; hand-written files have no ID', () => {
    const docker = { Scope: 'local', IPv6: 'false', Internal: 'false', CreatedAt: '' };
    assert.deepEqual(listRows(all, []), [
      { ID: '2c26b46b68ff', Name: 'foo', File: '/c/ns/nerdctl-foo.conflist', Labels: 'env=prod,team=a', Driver: 'bridge', ...docker },
      { ID: '', Name: 'hand', File: '/c/10-hand.conf', Labels: '', Driver: 'bridge', ...docker },
      { ID: '', Name: 'host', File: '', Labels: '', Driver: 'host', ...docker },
      { ID: '', Name: 'none', File: '', Labels: '', Driver: 'null', ...docker },
    ]);
    assert.deepEqual(
      listRows(all, [], { noTrunc: true }).map((r) => r.ID),
      [foo.id, '', '', ''],
    );
    const dated = networkFromConflist(foo.file!, foo.conflist, new Date('2026-12-01T03:29:24.710Z'));
    assert.equal(listRows([dated], [])[0]!.CreatedAt, '2026-12-01 03:29:24.71 +0000 UTC');
  });

  it('filters by unanchored name regexp and by label, without pseudo networks', () => {
    assert.deepEqual(
      listRows(all, ['name=an']).map((r) => r.Name),
      ['hand'],
    );
    assert.deepEqual(
      listRows(all, ['name=^f.o$']).map((r) => r.Name),
      ['foo'],
    );
    assert.deepEqual(
      listRows(all, ['label=env']).map((r) => r.Name),
      ['foo'],
    );
    assert.deepEqual(listRows(all, ['label=env=dev']), []);
    assert.throws(() => listRows(all, ['dangling=true']), {
      message: 'invalid filter "dangling=true": only name=, id=, label=, driver=, scope= and type= are supported',
    });
  });

  it("as Docker: one key's filters match when any does, labels when all do, keys together; id, driver, scope, type", () => {
    const names = (filters: string[]) => listRows(all, filters).map((r) => r.Name);
    // before, name filters were and-ed (as nerdctl's): -f name=foo -f name=hand listed nothing
    assert.deepEqual(names(['name=^foo$', 'name=^hand$']), ['foo', 'hand']);
    assert.deepEqual(names(['name=^foo$', 'name=^hand$', 'label=env']), ['foo']);
    assert.deepEqual(names(['label=env', 'label=team=b']), []);
    assert.deepEqual(names(['label=env', 'label=team=a']), ['foo']);
    assert.deepEqual(names(['id=^2c26b4']), ['foo']);
    assert.deepEqual(names(['driver=bridge']), ['foo', 'hand']);
    assert.deepEqual(names(['driver=macvlan']), []);
    assert.deepEqual(names(['scope=local']), ['foo', 'hand']);
    assert.deepEqual(names(['type=custom']), ['foo', 'hand']);
    assert.deepEqual(names(['type=builtin']), []);
    assert.throws(() => names(['type=other']), { message: 'invalid filter "type=other": type is custom or builtin' });
  });

  it("hides nerdctl's aux-address label from Labels and from label filters (as nerdctl)", () => {
    const aux = networkFromConflist(
      '/c/ns/nerdctl-foo.conflist',
      AnyConflist.parse({
        ...JSON.parse(fixture('foo-auto.conflist')),
        nerdctlLabels: { env: 'prod', 'nerdctl/network-aux-addresses': '{"10.4.1.0/24":{"r":"10.4.1.5"}}' },
      }),
    );
    assert.deepEqual(
      listRows([aux], []).map((r) => r.Labels),
      ['env=prod', '', ''],
    );
    assert.deepEqual(listRows([aux], ['label=nerdctl/network-aux-addresses']), []);
    assert.deepEqual(
      listRows([aux], ['label=env=prod']).map((r) => r.Name),
      ['foo'],
    );
  });
});

describe('network inspect (docker shape)', () => {
  it('renders IPAM config, labels and attachments', () => {
    const n = fromFixture('foo-ip-range.conflist');
    const view = toDockerNetwork(n, [
      { containerId: 'c1', name: 'web', endpointId: 'e1', macAddress: 'aa:bb:cc:dd:ee:ff', ipv4Address: '10.5.1.2/16', ipv6Address: '' },
    ]);
    assert.deepEqual(view, {
      Name: 'foo',
      Id: '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
      Created: '1970-01-01T00:00:00.000Z',
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      Internal: false,
      DNSEnabled: true,
      IPAM: { Driver: 'host-local', Config: [{ Subnet: '10.5.0.0/16', Gateway: '10.5.0.1', IPRange: '10.5.1.0/24' }] },
      Options: {},
      Labels: {},
      Containers: { c1: { Name: 'web', EndpointID: 'e1', MacAddress: 'aa:bb:cc:dd:ee:ff', IPv4Address: '10.5.1.2/16', IPv6Address: '' } },
    });
  });

  it('shows DNS on for user-defined bridge networks, off for the default bridge and with --disable-dns', () => {
    const n = fromFixture('foo-ip-range.conflist');
    assert.equal(toDockerNetwork(n, []).DNSEnabled, true);
    assert.equal(toDockerNetwork({ ...n, labels: { 'tsnerd/dns': 'false' } }, []).DNSEnabled, false);
    assert.equal(toDockerNetwork({ ...n, name: 'bridge', labels: { 'nerdctl/default-network': 'true' } }, []).DNSEnabled, false);
  });

  it('omits Id for hand-written networks', () => {
    assert.equal('Id' in toDockerNetwork(handWritten, []), false);
  });
});
