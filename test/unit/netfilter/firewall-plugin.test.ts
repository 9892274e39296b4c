/**
 * The firewall plugin's ADD as one iptables-restore per family (domain/netfilter/firewall-plugin.ts):
 * which confs it covers, and the checks and rules of its input. That the rules are the real
 * plugin's is test/e2e/cni/plugin-parity.test.ts's.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  firewallAddOutcome,
  firewallAddScripts,
  firewallDelScripts,
  firewallUndoScript,
  STALE_ROUNDS,
} from '../../../src/domain/netfilter/firewall-plugin.ts';

const prev = { interfaces: [{ name: 'br-a' }, { name: 'veth1' }], ips: [{ address: '10.1.0.5/24' }, { address: 'fd00::5/64' }] };

describe('the firewall plugin ADD as iptables-restore input', () => {
  it('appends the two rules of each address, then checks the shared rules, per family', () => {
    const scripts = firewallAddScripts({ type: 'firewall', ingressPolicy: 'same-bridge' }, prev)!;
    assert.deepEqual(
      scripts.map((s) => s.family),
      [4, 6],
    );
    const v4 = scripts[0]!.script.split('\n');
    assert.deepEqual(v4.slice(0, scripts[0]!.addLines), [
      '*filter',
      '-A CNI-FORWARD -d 10.1.0.5/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A CNI-FORWARD -s 10.1.0.5/32 -j ACCEPT',
      'COMMIT',
    ]);
    const checks = v4.slice(scripts[0]!.addLines, scripts[0]!.checkLines);
    assert.equal(checks[0], '*filter');
    assert.ok(checks.includes('-C FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD'));
    assert.ok(checks.some((l) => l.startsWith('-C CNI-ISOLATION-STAGE-1 -i br-a ! -o br-a ')));
    assert.ok(checks.some((l) => l.startsWith('-C CNI-ISOLATION-STAGE-2 -o br-a ')));
    assert.ok(checks.slice(1).every((l) => l.startsWith('-C ') && !l.includes('10.1.0.5')));
    assert.ok(scripts[1]!.script.includes('-A CNI-FORWARD -s fd00::5/128 -j ACCEPT'));
    assert.ok(scripts[0]!.script.endsWith('COMMIT\n'));
  });

  it("then removes stale copies of the container's rules, one round per transaction, each checking that one is left", () => {
    const [v4] = firewallAddScripts({}, { ips: [{ address: '10.1.0.5/24' }, { address: '10.1.0.5/24' }] })!;
    const lines = v4!.script.split('\n');
    const round = [
      '-D CNI-FORWARD -d 10.1.0.5/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-C CNI-FORWARD -d 10.1.0.5/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-D CNI-FORWARD -s 10.1.0.5/32 -j ACCEPT',
      '-C CNI-FORWARD -s 10.1.0.5/32 -j ACCEPT',
    ];
    assert.deepEqual([v4!.addLines, v4!.checkLines], [4, 7], 'the two rules once for an address listed twice, two checks');
    assert.deepEqual(lines.slice(v4!.checkLines), [
      ...round,
      'COMMIT',
      ...Array.from({ length: STALE_ROUNDS - 1 }, () => ['*filter', ...round, 'COMMIT']).flat(),
      '',
    ]);
    assert.equal(firewallUndoScript(v4!), ['*filter', ...round.filter((l) => l.startsWith('-D')), 'COMMIT', ''].join('\n'));
  });

  it('takes the ADD as done when the restore stops past the checks, and otherwise says what to do', () => {
    const [v4] = firewallAddScripts({}, { ips: [{ address: '10.1.0.5/24' }] })!;
    const failed = (line: number) => `iptables-restore: line ${line} failed: Bad rule (does a matching rule exist in that chain?).\n`;
    assert.equal(firewallAddOutcome(v4!, 0, ''), 'done', 'every round removed a stale copy');
    assert.equal(firewallAddOutcome(v4!, 1, failed(9)), 'done', 'no stale copy');
    assert.equal(firewallAddOutcome(v4!, 1, 'iptables-restore: line 9 failed\n'), 'done', 'iptables-legacy-restore');
    assert.equal(firewallAddOutcome(v4!, 1, failed(15)), 'done', 'one stale copy');
    assert.equal(firewallAddOutcome(v4!, 1, failed(2)), 'plugin', 'no CNI-FORWARD to append to');
    assert.equal(firewallAddOutcome(v4!, 1, failed(4)), 'plugin', 'its COMMIT failed');
    assert.equal(firewallAddOutcome(v4!, 1, failed(6)), 'undo', 'a shared rule is missing');
    assert.equal(firewallAddOutcome(v4!, 1, failed(7)), 'undo', 'the admin chain jump is missing');
    assert.equal(firewallAddOutcome(v4!, 1, 'something else\n'), 'undo');
    assert.equal(firewallAddOutcome(v4!, 2, failed(9)), 'undo');
    assert.equal(firewallAddOutcome(v4!, null, ''), 'undo', 'killed');
  });

  it('checks no isolation rule without an ingress policy, and the admin chain the conf names', () => {
    const [v4] = firewallAddScripts({ iptablesAdminChainName: 'MY-ADMIN' }, { ips: [{ address: '10.1.0.5/24' }] })!;
    assert.ok(!v4!.script.includes('ISOLATION'));
    assert.ok(v4!.script.includes('-j MY-ADMIN'));
  });

  it('leaves to the plugin what it does not cover', () => {
    for (const conf of [{ backend: 'firewalld' }, { ingressPolicy: 'isolated' }, { iptablesAdminChainName: 'A B' }])
      assert.equal(firewallAddScripts(conf, prev), undefined, JSON.stringify(conf));
    assert.equal(firewallAddScripts({}, { ips: [] }), undefined, 'no address');
    assert.equal(firewallAddScripts({}, { ips: [{ nope: 1 }] }), undefined, 'not a result');
    assert.equal(firewallAddScripts({ ingressPolicy: 'same-bridge' }, { ips: prev.ips }), undefined, 'no bridge to isolate');
  });

  it('deletes the two rules of each address, per family, and covers what ADD covers', () => {
    const scripts = firewallDelScripts({ ingressPolicy: 'same-bridge' }, prev)!;
    assert.deepEqual(scripts[0]!.script.split('\n'), [
      '*filter',
      '-D CNI-FORWARD -d 10.1.0.5/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-D CNI-FORWARD -s 10.1.0.5/32 -j ACCEPT',
      'COMMIT',
      '',
    ]);
    assert.ok(scripts[1]!.script.includes('-D CNI-FORWARD -s fd00::5/128 -j ACCEPT'));
    assert.equal(firewallDelScripts({ backend: 'firewalld' }, prev), undefined);
  });
});
