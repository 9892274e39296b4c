/**
 * The hook's reconciler after a reboot or containerd restart (app/attach/after-restart.ts) and the
 * firewall plugin's rules in CNI-FORWARD: without containerd, every cache entry and lease left holds
 * its address; rules of addresses no record names go, and second copies.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileAfterRestart, type AfterRestartDeps } from '../../../src/app/attach/after-restart.ts';
import { networkFromConflist } from '../../../src/domain/network/network.ts';

const rules = (ip: string) => [
  `-A CNI-FORWARD -d ${ip}/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  `-A CNI-FORWARD -s ${ip}/32 -j ACCEPT`,
];
const network = networkFromConflist('/c/n1.conflist', {
  cniVersion: '1.0.0',
  name: 'n1',
  plugins: [{ type: 'bridge', bridge: 'br-n1', ipam: { type: 'host-local', ranges: [[{ subnet: '10.9.0.0/24' }]] } }, { type: 'firewall' }],
});

function fixture(remembered: string | undefined) {
  const removed: { tool: string; rules: readonly string[] }[] = [];
  const log: string[] = [];
  let listed = 0;
  const deps = {
    marker: { current: async () => 'boot-2', remembered: async () => remembered, remember: async () => undefined },
    knownNetworks: async () => [network],
    withCniLock: <T>(fn: () => Promise<T>) => fn(),
    log: (l: string) => void log.push(l),
    cni: {
      getCachedAttachments: async () => [
        // another tool's, alive: its address is held
        { networkName: 'x', containerId: 'other-1', ifName: 'eth0', result: { cniVersion: '1.0.0', ips: [{ address: '10.9.0.5/24' }] } },
      ],
    },
    hostCni: {
      attachmentAlive: async () => true,
      allAllocations: async (dir?: string) => (dir === undefined ? [{ network: 'n1', ip: '10.9.0.6', owner: 'ns-dead', path: '/l' }] : []),
      firewallRules: async () => (
        listed++,
        [
          {
            tool: 'iptables' as const,
            listing: [...rules('10.9.0.5'), ...rules('10.9.0.5'), ...rules('10.9.0.6'), ...rules('10.9.0.7'), ...rules('10.10.0.7')].join(
              '\n',
            ),
          },
        ]
      ),
      removeFirewallRules: async (tool: string, r: readonly string[]) => void removed.push({ tool, rules: r }),
    },
  } as unknown as AfterRestartDeps;
  return { deps, removed, log, listed: () => listed };
}

describe('after a restart: the firewall plugin rules of addresses', () => {
  it('removes those no cache entry or lease names, and second copies, in the namespace’s networks only', async () => {
    const { deps, removed, log } = fixture('boot-1');
    await reconcileAfterRestart(deps, 'ns');
    assert.deepEqual(removed, [
      { tool: 'iptables', rules: rules('10.9.0.5') },
      { tool: 'iptables', rules: rules('10.9.0.7') },
    ]);
    assert.deepEqual(log, [
      'after restart: 2 iptables CNI-FORWARD rules of 10.9.0.5 (second copies)',
      'after restart: 2 iptables CNI-FORWARD rules of 10.9.0.7 (no holder)',
    ]);
  });

  it('looks at nothing on the first run ever, or with the marker unchanged', async () => {
    for (const remembered of [undefined, 'boot-2']) {
      const { deps, removed, listed } = fixture(remembered);
      await reconcileAfterRestart(deps, 'ns');
      assert.deepEqual(removed, []);
      assert.equal(listed(), 0);
    }
  });
});
