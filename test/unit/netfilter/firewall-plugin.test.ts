/**
 * The firewall plugin's ADD as one iptables-restore per family (domain/netfilter/firewall-plugin.ts):
 * which confs it covers, and the checks and rules of its input. That the rules are the real
 * plugin's is test/e2e/cni/plugin-parity.test.ts's.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { firewallAddScripts, firewallDelScripts } from '../../../src/domain/netfilter/firewall-plugin.ts';

const prev = { interfaces: [{ name: 'br-a' }, { name: 'veth1' }], ips: [{ address: '10.1.0.5/24' }, { address: 'fd00::5/64' }] };

describe('the firewall plugin ADD as iptables-restore input', () => {
  it('checks the shared rules and appends the two rules of each address, per family', () => {
    const scripts = firewallAddScripts({ type: 'firewall', ingressPolicy: 'same-bridge' }, prev)!;
    assert.deepEqual(
      scripts.map((s) => s.family),
      [4, 6],
    );
    const v4 = scripts[0]!.script.split('\n');
    assert.deepEqual(
      v4.filter((l) => l.startsWith('-A')),
      ['-A CNI-FORWARD -d 10.1.0.5/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A CNI-FORWARD -s 10.1.0.5/32 -j ACCEPT'],
    );
    assert.ok(v4.includes('-C FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD'));
    assert.ok(v4.some((l) => l.startsWith('-C CNI-ISOLATION-STAGE-1 -i br-a ! -o br-a ')));
    assert.ok(v4.some((l) => l.startsWith('-C CNI-ISOLATION-STAGE-2 -o br-a ')));
    assert.ok(scripts[1]!.script.includes('-A CNI-FORWARD -s fd00::5/128 -j ACCEPT'));
    assert.deepEqual([v4[0], v4.at(-2)], ['*filter', 'COMMIT']);
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
