import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNS_RECORDS_FILE, StoreDnsRegistry, type DnsJoinHost } from '../../../src/adapters/dns/store-dns-registry.ts';
import type { DnsRuleHost } from '../../../src/adapters/dns/dns-rules.ts';
import type { DnsJoin, DnsRecordSet } from '../../../src/domain/dns/records.ts';
import type { DnsInputSpec } from '../../../src/domain/netfilter/dns-input.ts';
import type { DnsJoined } from '../../../src/interfaces/dns-registry.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

const endpoint = (id: string, ip: string) => ({ network: 'n1', namespace: 'ns', id, names: [`c-${id}`], aliases: [], ips: [ip] });

describe('StoreDnsRegistry records file', () => {
  it('leaves: drops the container, keeps the others, written as lowdb writes JSON (2-space indents); no change, no write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-dns-registry-'));
    try {
      const file = join(dir, DNS_RECORDS_FILE);
      const set = {
        networks: { 'ns/n1': { gateways: ['10.1.0.1'], internal: false } },
        endpoints: { 'ns/a/n1': endpoint('a', '10.1.0.2'), 'ns/b/n1': endpoint('b', '10.1.0.3') },
      };
      writeFileSync(file, JSON.stringify(set, null, 2));
      const registry = new StoreDnsRegistry(dir);
      await registry.leave('ns', 'a');
      const text = readFileSync(file, 'utf8');
      const expected = { networks: set.networks, endpoints: { 'ns/b/n1': set.endpoints['ns/b/n1'] } };
      assert.equal(text, JSON.stringify(expected, null, 2));
      assert.deepEqual(await registry.names('ns', 'b'), { n1: ['c-b'] });
      const before = statSync(file);
      await registry.leave('ns', 'a'); // not there: nothing to write
      await registry.leave('ns', 'zz');
      const after = statSync(file);
      assert.equal(after.ino, before.ino);
      assert.equal(after.mtimeMs, before.mtimeMs);
      await registry.leave('ns', 'b');
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { networks: {}, endpoints: {} });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('StoreDnsRegistry: dns_bind_port (the port of a network, decided by its first container)', () => {
  const spec = (port = 53): DnsInputSpec => ({ bridge: 'br-n1', pairs: [{ subnet: '10.1.0.0/24', gateway: '10.1.0.1' }], port });
  const joining = (namespace: string, id: string): DnsJoin => ({
    namespace,
    id,
    // As the app gives it: port 53 in the rules' spec; the registry decides the port.
    endpoints: [
      {
        network: 'n1',
        record: { gateways: ['10.1.0.1'], internal: false },
        names: [id],
        aliases: [],
        ips: [`10.1.0.${id.length + 1}`],
        rules: spec(),
      },
    ],
  });

  function setUp(dir: string) {
    const calls: string[] = [];
    const rulesHost: DnsRuleHost = {
      ensure: async (specs, made) => {
        calls.push(`ensure ${specs.map((s) => `${s.bridge}:${s.port}`).join(' ')}`);
        if (specs.some((s) => s.port === 9999)) {
          made?.('br-n1'); // INPUT's rules made, then the nat restore fails
          throw new Error("cannot add the DNS rules of br-n1 to iptables's nat PREROUTING chain");
        }
        return specs.map((s) => s.bridge);
      },
      remove: async (bridge) => void calls.push(`remove ${bridge}`),
      ifindex: () => 7,
      isHere: () => true,
      boot: () => 'boot-1',
    };
    const joinHost: DnsJoinHost = {
      checkPorts: async (gateways) => void calls.push(`check ${gateways.map((g) => `${g.gateway}:${g.port}`).join(' ')}`),
      serve: async () => undefined,
    };
    const registry = (bindPort?: number) => new StoreDnsRegistry(dir, { bindPort, rulesHost, joinHost });
    const network = (key: string) => (JSON.parse(readFileSync(join(dir, DNS_RECORDS_FILE), 'utf8')) as DnsRecordSet).networks[key];
    return { calls, registry, network };
  }

  it('the first container checks and makes for its port; later ones join on it whatever their setting; another namespace on the gateway too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-dns-registry-'));
    try {
      const { calls, registry, network } = setUp(dir);
      await registry(44253).join(joining('ns', 'a'));
      assert.deepEqual(calls, ['check 10.1.0.1:44253', 'ensure br-n1:44253']);
      assert.deepEqual(network('ns/n1'), { gateways: ['10.1.0.1'], internal: false, port: 44253 });
      calls.length = 0;
      await registry().join(joining('ns', 'bb'));
      await registry(5353).join(joining('ns2', 'ccc'));
      assert.deepEqual(calls, [], 'no port check, no iptables: the gateway is served, the rules made on this bridge');
      assert.equal(network('ns/n1')?.port, 44253);
      assert.equal(network('ns2/n1')?.port, 44253, "the gateway's port, not the setting's");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a first container with another setting replaces the rules (the old spec registered first); 53 records no port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-dns-registry-'));
    try {
      const { calls, registry, network } = setUp(dir);
      await registry(44253).join(joining('ns', 'a'));
      await registry().leave('ns', 'a');
      calls.length = 0;
      const joined: DnsJoined = { rulesMade: [] };
      await registry(53).join(joining('ns', 'a'), joined);
      assert.deepEqual(calls, ['check 10.1.0.1:53', 'remove br-n1', 'ensure br-n1:53']);
      assert.deepEqual(joined, { rulesMade: ['br-n1'], rulesReplaced: [spec(44253)] });
      assert.deepEqual(network('ns/n1'), { gateways: ['10.1.0.1'], internal: false });
      // Its rollback: the records left, the new rules out and the old ones back.
      calls.length = 0;
      await registry().leave('ns', 'a', joined);
      assert.deepEqual(calls, ['remove br-n1', 'ensure br-n1:44253']);
      assert.equal(network('ns/n1'), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rules of another port that cannot be made fail the join (a conflict) before the records; the rollback removes what was made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-dns-registry-'));
    try {
      const { calls, registry } = setUp(dir);
      const joined: DnsJoined = { rulesMade: [] };
      await assert.rejects(registry(9999).join(joining('ns', 'a'), joined), (err: unknown) => {
        assert.ok(isTsnerdError(err, 'conflict'));
        assert.match(
          err.message,
          /^cannot serve DNS on network "n1": the rules taking its gateway's port 53 to dns_bind_port 9999 could not be made \(.*nat PREROUTING chain\)/,
        );
        return true;
      });
      assert.deepEqual(joined.rulesMade, ['br-n1']);
      assert.equal(existsSync(join(dir, DNS_RECORDS_FILE)), false, 'no records written');
      calls.length = 0;
      await registry().leave('ns', 'a', joined);
      assert.deepEqual(calls, ['remove br-n1']);
      // On port 53 the same failure is only logged (only a host whose INPUT drops needs those rules).
      const logged: string[] = [];
      const rulesHost: DnsRuleHost = {
        ensure: async () => Promise.reject(new Error('no iptables')),
        remove: async () => 0,
        ifindex: () => 7,
        isHere: () => true,
        boot: () => 'b',
      };
      const joinHost: DnsJoinHost = { checkPorts: async () => undefined, serve: async () => undefined };
      await new StoreDnsRegistry(dir, { rulesHost, joinHost, log: (l) => logged.push(l) }).join(joining('ns', 'a'));
      assert.deepEqual(logged, ['DNS rules: no iptables']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
