import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNS_RULES_FILE, StoreDnsRules, type DnsRuleHost } from '../../../src/adapters/dns/dns-rules.ts';
import type { DnsInputSpec } from '../../../src/domain/netfilter/dns-input.ts';

const spec = (bridge = 'br-a', subnet = '10.1.2.0/24'): DnsInputSpec => ({ bridge, pairs: [{ subnet, gateway: '10.1.2.1' }], port: 53 });

/** A host whose INPUT holds `rules` (bridge names), with links by ifindex; every iptables call is logged. */
function fakeHost(links: Record<string, number | undefined>) {
  const calls: string[] = [];
  const rules = new Set<string>();
  const host: DnsRuleHost & { boot(): string } = {
    ensure: async (specs) => {
      calls.push(`ensure ${specs.map((s) => s.bridge).join(' ')}`);
      const made = specs.filter((s) => !rules.has(s.bridge)).map((s) => s.bridge);
      for (const b of made) rules.add(b);
      return made;
    },
    remove: async (bridge) => {
      calls.push(`remove ${bridge}`);
      rules.delete(bridge);
    },
    ifindex: (name) => links[name],
    isHere: (name) => name in links,
    boot: () => 'boot-1',
  };
  return { host, calls, rules, links };
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dns-rules-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe('StoreDnsRules (dns/rules.json)', () => {
  it(
    "a bridge's first container makes the rules; the next first containers on the same bridge run nothing",
    withDir(async (dir) => {
      const { host, calls } = fakeHost({ 'br-a': 7 });
      const rules = new StoreDnsRules(dir, host);
      const joined = { rulesMade: [] as string[] };
      assert.deepEqual(await rules.ensure([spec()], joined), { made: ['br-a'], errors: [], failed: [] });
      assert.deepEqual(joined.rulesMade, ['br-a']);
      assert.deepEqual(await rules.ensure([spec()]), { made: [], errors: [], failed: [] });
      assert.deepEqual(calls, ['ensure br-a']);
      const book = JSON.parse(readFileSync(join(dir, DNS_RULES_FILE), 'utf8'));
      assert.deepEqual(book.bridges['br-a'].made, { boot: 'boot-1', ifindex: 7 });
    }),
  );

  it(
    'looks again when the bridge was made again (another ifindex), after a reboot, or when the rules differ',
    withDir(async (dir) => {
      const h = fakeHost({ 'br-a': 7 });
      const rules = new StoreDnsRules(dir, h.host);
      await rules.ensure([spec()]);
      h.links['br-a'] = 9;
      await rules.ensure([spec()]);
      h.host.boot = () => 'boot-2';
      await rules.ensure([spec()]);
      // Other rules for the bridge (the network made again with another subnet): the old ones go first.
      await rules.ensure([spec('br-a', '10.1.3.0/24')]);
      assert.deepEqual(h.calls, ['ensure br-a', 'ensure br-a', 'ensure br-a', 'remove br-a', 'ensure br-a']);
    }),
  );

  it(
    'names the bridge before the rules exist (a kill between leaves what gc needs), and never caches a failure',
    withDir(async (dir) => {
      const h = fakeHost({ 'br-a': 7 });
      h.host.ensure = async () => {
        assert.deepEqual(new StoreDnsRules(dir, h.host).bridges(), ['br-a'], 'recorded first');
        throw new Error('iptables-restore failed');
      };
      const rules = new StoreDnsRules(dir, h.host);
      assert.deepEqual(await rules.ensure([spec()]), { made: [], errors: ['iptables-restore failed'], failed: ['br-a'] });
      const book = JSON.parse(readFileSync(join(dir, DNS_RULES_FILE), 'utf8'));
      assert.equal(book.bridges['br-a'].made, undefined);
    }),
  );

  it(
    "without an ifindex (another namespace's /sys) the rules are checked each time; reload takes every bridge that is here",
    withDir(async (dir) => {
      const h = fakeHost({ 'br-a': undefined, 'br-b': 3 });
      const rules = new StoreDnsRules(dir, h.host);
      await rules.ensure([spec('br-a')]);
      await rules.ensure([spec('br-a')]);
      assert.deepEqual(h.calls, ['ensure br-a', 'ensure br-a']);
      await rules.ensure([spec('br-b')]);
      await rules.ensure([spec('br-gone')]);
      h.calls.length = 0;
      delete h.links['br-gone'];
      await rules.reload();
      assert.deepEqual(h.calls, ['ensure br-a br-b']);
    }),
  );

  it(
    "dns_bind_port changed since the bridge's last container: its rules are replaced, the old spec registered for the rollback first; putBack restores it",
    withDir(async (dir) => {
      const h = fakeHost({ 'br-a': 7 });
      const events: string[] = [];
      const joined: { rulesMade: string[]; rulesReplaced?: DnsInputSpec[] } = { rulesMade: [] };
      const ensure = h.host.ensure;
      h.host.ensure = async (specs, made) => {
        events.push(`ensure port ${specs[0]!.port}, replaced: ${(joined.rulesReplaced ?? []).map((s) => s.port).join(' ')}`);
        return ensure(specs, made);
      };
      const remove = h.host.remove;
      h.host.remove = async (bridge) => {
        events.push(`remove, replaced: ${(joined.rulesReplaced ?? []).map((s) => s.port).join(' ')}`);
        return remove(bridge);
      };
      const rules = new StoreDnsRules(dir, h.host);
      await rules.ensure([spec()]);
      const moved = { ...spec(), port: 44253 };
      assert.deepEqual(await rules.ensure([moved], joined), { made: ['br-a'], errors: [], failed: [] });
      assert.deepEqual(joined, { rulesMade: ['br-a'], rulesReplaced: [spec()] });
      assert.deepEqual(events, ['ensure port 53, replaced: ', 'remove, replaced: 53', 'ensure port 44253, replaced: 53']);
      // The next first container with the same setting runs nothing.
      assert.deepEqual(await rules.ensure([moved]), { made: [], errors: [], failed: [] });
      assert.equal(events.length, 3);
      // The rollback of the start that replaced them: the new rules out, the old ones back, the old spec remembered.
      await rules.putBack(spec());
      assert.deepEqual(events.slice(3), ['remove, replaced: 53', 'ensure port 53, replaced: 53']);
      const book = JSON.parse(readFileSync(join(dir, DNS_RULES_FILE), 'utf8'));
      assert.deepEqual(book.bridges['br-a'], { spec: spec() });
    }),
  );

  it(
    'a made callback registers each bridge as soon as its rules exist, though a later restore fails',
    withDir(async (dir) => {
      const h = fakeHost({ 'br-a': 7 });
      h.host.ensure = async (_specs, made) => {
        made?.('br-a'); // INPUT made
        throw new Error("cannot add the DNS rules of br-a to iptables's nat PREROUTING chain");
      };
      const joined = { rulesMade: [] as string[] };
      const out = await new StoreDnsRules(dir, h.host).ensure([{ ...spec(), port: 44253 }], joined);
      assert.deepEqual(out, {
        made: ['br-a'],
        errors: ["cannot add the DNS rules of br-a to iptables's nat PREROUTING chain"],
        failed: ['br-a'],
      });
      assert.deepEqual(joined.rulesMade, ['br-a'], 'the rollback removes what was made');
    }),
  );

  it(
    "remove takes the rules and the entry; the gateways of a bridge's rules",
    withDir(async (dir) => {
      const h = fakeHost({ 'br-a': 7 });
      const rules = new StoreDnsRules(dir, h.host);
      await rules.ensure([spec()]);
      assert.deepEqual(rules.gateways('br-a'), ['10.1.2.1']);
      await rules.remove(['br-a']);
      assert.deepEqual(rules.bridges(), []);
      assert.deepEqual(h.calls, ['ensure br-a', 'remove br-a']);
    }),
  );
});
