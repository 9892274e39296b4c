/**
 * createRuntime whose caller is gone (the hook server's client killed, runc has
 * failed the hook and sent postStop): setupContainerNetworks undoes what it did
 * instead of going on, whether the caller died during the ADD or during the
 * hosts and DNS joins (which may have come after postStop's leave).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setupContainerNetworks } from '../../../src/app/attach/setup.ts';
import type { AttachDeps } from '../../../src/app/attach/deps.ts';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';

const list = parseConfList(
  JSON.stringify({ cniVersion: '1.0.0', name: 'n1', plugins: [{ type: 'bridge', bridge: 'br-n1', ipam: { type: 'host-local' } }] }),
);

/** The same network with a gateway: the resolver serves it (a DNS join). */
const dnsList = parseConfList(
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'n1',
    plugins: [
      { type: 'bridge', bridge: 'br-n1', ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/24', gateway: '10.1.0.1' }]] } },
    ],
  }),
);

/** Fakes that record each step; `dieAt` is the step during which the caller dies. */
function fixture(dieAt?: 'ADD' | 'hosts', network = list) {
  const calls: string[] = [];
  let gone = false;
  const step = (name: string) => {
    calls.push(name);
    if (name === dieAt) gone = true;
  };
  const deps = {
    cni: {
      getCachedAttachments: async () => [],
      addNetworkList: async () => {
        step('ADD');
        return { cniVersion: '1.0.0', interfaces: [], ips: [{ address: '10.1.0.2/24' }], routes: [], dns: {} };
      },
      delNetworkList: async () => void calls.push('DEL'),
    },
    resolver: { resolve: async () => ({ name: 'n1', list: network }), stillDefined: async () => true },
    hosts: { acquire: async () => step('hosts'), release: async () => void calls.push('hosts leave') },
    state: {
      readLifecycle: async () => ({}),
      readNetworkConfig: async () => ({ portMappings: [] }),
      readEndpoints: async () => undefined,
    },
    reserver: { start: async () => undefined, stop: async () => (calls.push('ports released'), true) },
    dns: {
      // The network's first container: the join makes its DNS rules, and says so before it is over.
      join: async (_join: unknown, joined?: { rulesMade: string[] }) => {
        joined?.rulesMade.push('br-n1');
        calls.push('dns');
      },
      leave: async (_ns: string, _id: string, undo?: { rulesMade: string[] }) =>
        void calls.push(`dns leave${undo?.rulesMade.length ? ` (rules of ${undo.rulesMade.join(' ')})` : ''}`),
    },
    removeDeadBridge: async () => undefined,
    addBridgeAddress: async () => undefined,
    removeIpMasqChain: async () => undefined,
    faultPoint: () => undefined,
    withCniLock: async <T>(fn: () => Promise<T>) => fn(),
    log: () => undefined,
  } as unknown as AttachDeps;
  const c = { id: 'c1', pid: 42, namespace: 'ns', stateDir: '/s', annotations: { 'tsnerd/networks': JSON.stringify(['n1']) } };
  const run = () =>
    setupContainerNetworks(
      deps,
      c,
      async () => void calls.push('finish'),
      () => gone,
    );
  return { calls, run };
}

describe('createRuntime whose caller was killed', () => {
  it('finishes when the caller stays', async () => {
    const { calls, run } = fixture();
    await run();
    assert.deepEqual(calls, ['ADD', 'dns leave', 'hosts', 'finish']); // no DNS-enabled network: the DNS join is a leave
  });

  it('during the ADD: detaches again, releases its ports and joins no hosts file or DNS record', async () => {
    const { calls, run } = fixture('ADD');
    await assert.rejects(run(), { kind: 'unavailable', message: /caller was killed before the hook finished/ });
    assert.deepEqual(calls, ['ADD', 'DEL', 'ports released']);
  });

  it('during the hosts join: leaves the hosts files and DNS records, detaches, releases its ports, does not finish', async () => {
    const { calls, run } = fixture('hosts');
    await assert.rejects(run(), { kind: 'unavailable' });
    assert.ok(!calls.includes('finish'), calls.join(', '));
    for (const undo of ['hosts leave', 'dns leave', 'DEL', 'ports released'])
      assert.ok(calls.includes(undo), `${undo}: ${calls.join(', ')}`);
    assert.ok(calls.indexOf('DEL') > calls.indexOf('hosts'), calls.join(', '));
  });

  it('during the hosts join of a DNS network: the leave takes back the DNS rules the join made', async () => {
    const { calls, run } = fixture('hosts', dnsList);
    await assert.rejects(run(), { kind: 'unavailable' });
    assert.ok(calls.includes('dns'), calls.join(', '));
    assert.ok(calls.includes('dns leave (rules of br-n1)'), calls.join(', '));
  });
});
