/**
 * network gc and the firewall plugin's per-address rules in CNI-FORWARD (app/reclaim/network-gc.ts,
 * sweepFirewallRules): who holds an address, and what is taken.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkGc } from '../../../src/app/reclaim/network-gc.ts';
import { fakeReclaimDeps, inventoryOf } from './fake-deps.ts';
import { networkFromConflist } from '../../../src/domain/network/network.ts';
import type { IpAllocation } from '../../../src/interfaces/cni-host-state.ts';
import type { InventoryContainer } from '../../../src/interfaces/container-inventory.ts';

const DEAD = 'a'.repeat(64);
const LIVE = 'b'.repeat(64);
const rules = (ip: string) => [
  `-A CNI-FORWARD -d ${ip}/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  `-A CNI-FORWARD -s ${ip}/32 -j ACCEPT`,
];

function fixture(listing: string[]) {
  const removed: { tool: string; rules: readonly string[] }[] = [];
  const container = (id: string, running: boolean): InventoryContainer => ({
    namespace: 'ns',
    id,
    labels: { 'tsnerd/state-dir': `/s/containers/ns/${id}` },
    task: { status: running ? 'running' : 'stopped', pid: 7 },
  });
  const lease = (ip: string, owner: string): IpAllocation => ({ network: 'n1', ip, owner, path: `/l/${ip}` });
  const deps = fakeReclaimDeps({
    inventory: inventoryOf([container(DEAD, false), container(LIVE, true)]),
    networks: async () => [
      networkFromConflist('/c/n1.conflist', {
        cniVersion: '1.0.0',
        name: 'n1',
        plugins: [
          { type: 'bridge', bridge: 'br-n1', ipam: { type: 'host-local', ranges: [[{ subnet: '10.9.0.0/24' }]] } },
          { type: 'firewall' },
        ],
      }),
    ],
    cni: {
      getCachedAttachments: async () => [
        {
          networkName: 'n1',
          containerId: `ns-${LIVE}`,
          ifName: 'eth0',
          result: { cniVersion: '1.0.0', ips: [{ address: '10.9.0.5/24' }] },
        },
        // another runtime's container on a network of another conf dir, in the same subnet
        {
          networkName: 'x',
          containerId: `other-${'c'.repeat(64)}`,
          ifName: 'eth0',
          result: { cniVersion: '1.0.0', ips: [{ address: '10.9.0.7/24' }] },
        },
      ],
    },
    hostCni: {
      allAllocations: async (dir?: string) => (dir === undefined ? [lease('10.9.0.6', `ns-${DEAD}`), lease('10.9.0.10', '')] : []),
      firewallRules: async () => [
        { tool: 'iptables', listing: ['-N CNI-FORWARD', ...listing, ''].join('\n') },
        { tool: 'ip6tables', listing: '' },
      ],
      removeFirewallRules: async (tool: string, r: readonly string[]) => void removed.push({ tool, rules: r }),
      isIdleBridge: async () => false,
      linkExists: async () => true,
    },
  });
  return { deps, removed };
}

const all = [
  rules('10.9.0.5'),
  rules('10.9.0.5'),
  rules('10.9.0.6'),
  rules('10.9.0.7'),
  rules('10.9.0.8'),
  rules('10.9.0.10'),
  rules('10.10.0.9'),
].flat();

describe('network gc: the firewall plugin rules of addresses', () => {
  it('takes those nobody holds and second copies of a held address, inside its networks only', async () => {
    const { deps, removed } = fixture(all);
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(
      items.filter((i) => i.kind === 'iptables-rules').map((i) => i.item),
      [
        '2 in filter CNI-FORWARD for 10.9.0.5 (second copies)',
        '2 in filter CNI-FORWARD for 10.9.0.6 (no holder)',
        '2 in filter CNI-FORWARD for 10.9.0.8 (no holder)',
      ],
    );
    assert.deepEqual(removed, [
      { tool: 'iptables', rules: rules('10.9.0.5') },
      { tool: 'iptables', rules: rules('10.9.0.6') },
      { tool: 'iptables', rules: rules('10.9.0.8') },
    ]);
  });

  it('a dry run lists them and removes nothing', async () => {
    const { deps, removed } = fixture(all);
    const { items } = await networkGc(deps, { dryRun: true });
    assert.equal(items.filter((i) => i.kind === 'iptables-rules').length, 3);
    assert.deepEqual(removed, []);
  });

  it('reads no lease when no rule is in its subnets', async () => {
    const { deps } = fixture([...rules('10.10.0.9')]);
    let leasesRead = 0;
    deps.hostCni.allAllocations = async () => (leasesRead++, []);
    const { items } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(
      items.filter((i) => i.kind === 'iptables-rules'),
      [],
    );
    assert.equal(leasesRead, 0);
  });
});
