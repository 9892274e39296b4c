import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseSubnet,
  configDifferences,
  formatNet,
  leaseAttrs,
  leaseKey,
  newFlannelConfig,
  overlayConfigOf,
  parseFlannelConfig,
  parseIpv4Net,
  peersOf,
  randomVtepMac,
  subnetCount,
  subnetOfLeaseKey,
  type Lease,
} from '../../../src/domain/overlay/flannel.ts';
import { buildOverlayConflist, parseOverlayInput } from '../../../src/domain/overlay/overlay-network.ts';

const net = (text: string) => {
  const n = parseIpv4Net(text)!;
  return { base: n.base, prefix: n.prefix };
};
const KEY = '/coreos.com/network/config';

describe('flannel config', () => {
  it('applies flannel defaults: /24 subnets from the second one, VNI 1, port 8472', () => {
    const c = parseFlannelConfig('{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}', KEY);
    assert.equal(c.subnetLen, 24);
    assert.equal(formatNet({ base: c.subnetMin, prefix: 24 }), '10.5.1.0/24');
    assert.equal(formatNet({ base: c.subnetMax, prefix: 24 }), '10.5.255.0/24');
    assert.equal(c.vni, 1);
    assert.equal(c.port, 8472);
    assert.equal(subnetCount(c), 255);
  });

  it('defaults SubnetLen to two bits past a Network smaller than /22', () => {
    assert.equal(parseFlannelConfig('{"Network":"10.5.0.0/26","Backend":{"Type":"vxlan"}}', KEY).subnetLen, 28);
  });

  it("refuses what is not flannel's format, naming the key", () => {
    assert.throws(
      () => parseFlannelConfig('hello', KEY),
      /\/coreos\.com\/network\/config in etcd is not a flannel network config: not JSON/,
    );
    assert.throws(() => parseFlannelConfig('{"network":"10.0.0.0/8"}', KEY), /not a flannel network config: "Network"/);
    assert.throws(() => parseFlannelConfig('{"Network":"10.0.0.0/8","Backend":{"Type":"udp"}}', KEY), /backend "udp" is not supported/);
    assert.throws(() => parseFlannelConfig('{"Network":"10.0.0.0/8"}', KEY), /backend "udp"/, "flannel's default backend is udp");
    assert.throws(() => parseFlannelConfig('{"Network":"fd00::/64","Backend":{"Type":"vxlan"}}', KEY), /not an IPv4 CIDR/);
    assert.throws(
      () => parseFlannelConfig('{"Network":"10.0.0.0/24","SubnetLen":24,"Backend":{"Type":"vxlan"}}', KEY),
      /SubnetLen 24 must be longer/,
    );
  });

  it("writes a new config in flannel's shape and lists differences with a requested one", () => {
    const fresh = newFlannelConfig({ network: net('10.217.0.0/17'), subnetLen: undefined, vni: 1217, port: 48472 });
    assert.deepEqual(fresh, { Network: '10.217.0.0/17', SubnetLen: 24, Backend: { Type: 'vxlan', VNI: 1217, Port: 48472 } });
    const c = overlayConfigOf(fresh, KEY);
    assert.deepEqual(configDifferences(c, { network: undefined, subnetLen: undefined, vni: undefined, port: undefined }), []);
    assert.deepEqual(configDifferences(c, { network: net('10.218.0.0/16'), subnetLen: 24, vni: 1, port: 48472 }), [
      'subnet 10.217.0.0/17 in etcd, 10.218.0.0/16 asked',
      'vni 1217 in etcd, 1 asked',
    ]);
  });
});

describe('subnet leases', () => {
  const c = parseFlannelConfig('{"Network":"10.5.0.0/22","SubnetLen":24,"Backend":{"Type":"vxlan"}}', KEY);
  const lease = (subnet: string, ip: string): Lease => ({ subnet: net(subnet), attrs: leaseAttrs(ip, 1, '02:00:00:00:00:01') });

  it("uses flannel's key and value layout", () => {
    assert.equal(leaseKey('/coreos.com/network', net('10.5.34.0/24')), '/coreos.com/network/subnets/10.5.34.0-24');
    assert.deepEqual(subnetOfLeaseKey('/coreos.com/network', '/coreos.com/network/subnets/10.5.34.0-24'), net('10.5.34.0/24'));
    assert.equal(subnetOfLeaseKey('/coreos.com/network', '/coreos.com/network/subnets/junk'), undefined);
    assert.equal(
      JSON.stringify(leaseAttrs('192.168.64.3', 1, 'c6:d2:32:6f:8f:44')),
      '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}',
    );
  });

  it("keeps the previous subnet, else finds this host's lease, else a free one, else none", () => {
    assert.equal(formatNet(chooseSubnet(c, [], '1.1.1.1', net('10.5.2.0/24'))!), '10.5.2.0/24');
    assert.equal(formatNet(chooseSubnet(c, [lease('10.5.2.0/24', '1.1.1.1')], '1.1.1.1', net('10.5.2.0/24'))!), '10.5.2.0/24');
    assert.equal(formatNet(chooseSubnet(c, [lease('10.5.3.0/24', '1.1.1.1')], '1.1.1.1', undefined)!), '10.5.3.0/24');
    const taken = [lease('10.5.1.0/24', '2.2.2.2'), lease('10.5.2.0/24', '3.3.3.3')];
    assert.equal(formatNet(chooseSubnet(c, taken, '1.1.1.1', net('10.5.2.0/24'), () => 0.99)!), '10.5.3.0/24');
    assert.equal(chooseSubnet(c, [...taken, lease('10.5.3.0/24', '4.4.4.4')], '1.1.1.1', undefined), undefined);
  });

  it("programs the other hosts' vxlan leases only", () => {
    const other = { subnet: net('10.5.9.0/24'), attrs: { PublicIP: '5.5.5.5', BackendType: 'host-gw' } };
    const peers = peersOf([lease('10.5.1.0/24', '1.1.1.1'), lease('10.5.2.0/24', '2.2.2.2'), other], net('10.5.1.0/24'));
    assert.deepEqual(peers, [{ subnet: net('10.5.2.0/24'), publicIp: '2.2.2.2', vtepMac: '02:00:00:00:00:01' }]);
  });

  it('makes locally administered unicast VTEP MACs', () => {
    assert.equal(randomVtepMac(new Uint8Array([0xff, 1, 2, 3, 4, 5])), 'fe:01:02:03:04:05');
  });
});

describe('overlay create input', () => {
  const base = { name: 'ovl', etcdEndpoints: 'http://10.0.0.1:2379' };
  it('parses endpoints, subnet and options', () => {
    const spec = parseOverlayInput({
      ...base,
      etcdEndpoints: 'http://10.0.0.1:2379,https://e2:2379/',
      subnets: ['10.5.0.0/16'],
      vni: 7,
      options: ['etcd-prefix=/x/y', 'public-ip=10.0.0.9'],
    });
    assert.deepEqual(spec.ref, { etcdEndpoints: ['http://10.0.0.1:2379', 'https://e2:2379'], etcdPrefix: '/x/y' });
    assert.equal(spec.request.vni, 7);
    assert.equal(spec.publicIp, '10.0.0.9');
  });
  it('refuses bad values with one clear line', () => {
    assert.throws(() => parseOverlayInput({ name: 'ovl', etcdEndpoints: undefined }), /needs --etcd-endpoints/);
    assert.throws(() => parseOverlayInput({ ...base, etcdEndpoints: 'etcd:2379' }), /invalid etcd endpoint "etcd:2379"/);
    assert.throws(() => parseOverlayInput({ ...base, subnets: ['10.5.0.1/16'] }), /maybe you meant "10\.5\.0\.0\/16"/);
    assert.throws(() => parseOverlayInput({ ...base, subnets: ['10.5.0.0/16'], subnetLen: 16 }), /--subnet-len 16 must be longer/);
    assert.throws(() => parseOverlayInput({ ...base, vni: 0 }), /invalid --vni 0/);
    assert.throws(() => parseOverlayInput({ ...base, options: ['etcd-prefix=x/'] }), /invalid etcd-prefix/);
    assert.throws(() => parseOverlayInput({ ...base, options: ['parent=eth0'] }), /unsupported "overlay" network option "parent"/);
    assert.throws(
      () => parseOverlayInput({ ...base, etcdEndpoints: 'http://e\u0001:2379' }),
      /invalid etcd endpoint "http:\/\/e\\x01:2379": contains a control character/,
    );
    assert.throws(() => parseOverlayInput({ ...base, labels: ['tsnerd/x=1'] }), /label "tsnerd\/x" is reserved/);
  });
  it("builds a bridge conflist on the leased subnet without the plugin's masquerading", () => {
    const template = {
      cniVersion: '1.0.0',
      plugins: [
        {
          type: 'bridge' as const,
          bridge: '',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { ranges: [], routes: [{ dst: '0.0.0.0/0' }], type: 'host-local' as const },
        },
        { type: 'portmap' as const, capabilities: { portMappings: true } },
        { type: 'firewall' as const, ingressPolicy: 'same-bridge' as const },
        { type: 'tuning' as const },
      ],
    } as const;
    const conflist = JSON.parse(
      JSON.stringify(
        buildOverlayConflist(
          structuredClone(template) as never,
          { name: 'ovl', ref: { etcdEndpoints: ['http://e:2379'], etcdPrefix: '/p' }, labels: {} },
          net('10.5.3.0/24'),
          1450,
        ),
      ),
    );
    assert.equal(conflist.plugins[0].ipMasq, undefined);
    assert.equal(conflist.plugins[0].mtu, 1450);
    assert.deepEqual(conflist.plugins[0].ipam.ranges, [[{ gateway: '10.5.3.1', subnet: '10.5.3.0/24' }]]);
    assert.deepEqual(conflist.tsnerdOverlay, { etcdEndpoints: ['http://e:2379'], etcdPrefix: '/p' });
  });
});
