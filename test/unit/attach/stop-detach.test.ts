import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detachForStop } from '../../../src/app/attach/teardown.ts';
import type { AttachDeps } from '../../../src/app/attach/deps.ts';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';

const list = parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'n1', plugins: [{ type: 'bridge', bridge: 'br-n1' }] }));

/** detachForStop over fakes that record what they were asked to do. */
function fixture() {
  const calls: string[] = [];
  const deps = {
    cni: {
      getCachedAttachments: async () => [],
      delNetworkList: async (l: { name: string }, rt: { ifName: string; netns: string }) =>
        void calls.push(`DEL ${l.name} ${rt.ifName} ${rt.netns}`),
    },
    resolver: { resolve: async () => ({ name: 'n1', list }) },
    hosts: { release: async (ns: string, id: string) => void calls.push(`hosts.release ${ns} ${id}`) },
    state: {
      readLifecycle: async () => ({}),
      writeLifecycle: async (_dir: string, l: { stopped_at?: string }) => void calls.push(`lifecycle stopped=${Boolean(l.stopped_at)}`),
      readNetworkConfig: async () => ({ portMappings: [] }),
      readEndpoints: async () => undefined,
    },
    reserver: { stop: async () => void calls.push('reserver.stop') },
    dns: { leave: async (ns: string, id: string) => void calls.push(`dns.leave ${ns} ${id}`) },
    withCniLock: <T>(fn: () => Promise<T>) => fn(),
    log: () => undefined,
  } as unknown as AttachDeps;
  return { calls, deps };
}

const container = (networks: string[]) => ({
  id: 'c1',
  pid: 42,
  namespace: 'ns',
  stateDir: '/s',
  annotations: { 'tsnerd/networks': JSON.stringify(networks) },
});

describe('detachForStop', () => {
  it('frees the IPs in the live netns and drops the hosts entry and DNS records, so peers stop resolving the freed IP', async () => {
    const { calls, deps } = fixture();
    await detachForStop(deps, container(['n1']));
    // The reservation last: a stop killed before it is finished by the port holder's watcher.
    assert.deepEqual(calls, [
      'DEL n1 eth0 /proc/42/ns/net',
      'hosts.release ns c1',
      'dns.leave ns c1',
      'lifecycle stopped=true',
      'reserver.stop',
    ]);
  });

  it('detaches in the netns the caller holds open (the container has exited)', async () => {
    const { calls, deps } = fixture();
    await detachForStop(deps, container(['n1']), '/proc/7/fd/21');
    assert.equal(calls[0], 'DEL n1 eth0 /proc/7/fd/21');
  });

  it('records the container as stopped only once the DEL worked (issue 12, item 7)', async () => {
    const { calls, deps } = fixture();
    (deps.cni as { delNetworkList: unknown }).delNetworkList = async () => {
      throw new Error('plugin failed');
    };
    await assert.rejects(detachForStop(deps, container(['n1'])), /plugin failed/);
    assert.ok(!calls.includes('lifecycle stopped=true'), calls.join(', '));
  });

  it('replays a cached ADD as it was (port mappings included) even when network-config.json is damaged', async () => {
    const { deps } = fixture();
    const seen: unknown[] = [];
    deps.cni.getCachedAttachments = async () => [{ networkName: 'n1', containerId: 'ns-c1', ifName: 'eth0', config: list.bytes }];
    deps.cni.delNetworkList = async (_l, rt) => void seen.push(rt);
    deps.state.readNetworkConfig = async () => {
      throw new SyntaxError('Unexpected token');
    };
    await detachForStop(deps, container(['n1']));
    assert.deepEqual(seen, [{ containerId: 'ns-c1', netns: '/proc/42/ns/net', ifName: 'eth0' }]);
  });

  it('leaves non-CNI containers alone (their hosts entry has no IPs and no hook would restore it)', async () => {
    const { calls, deps } = fixture();
    await detachForStop(deps, container(['host']));
    assert.deepEqual(calls, ['lifecycle stopped=true']);
  });
});
