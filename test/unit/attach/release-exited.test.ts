import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { releaseExited } from '../../../src/app/attach/teardown.ts';
import type { AttachDeps } from '../../../src/app/attach/deps.ts';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';

const list = parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'n1', plugins: [{ type: 'bridge', bridge: 'br-n1' }] }));

/** releaseExited over fakes that record what they were asked to do, the CNI lock included. */
function fixture(holds: boolean) {
  const calls: string[] = [];
  let lifecycle: Record<string, unknown> = { started_at: 't0', pid: 42 };
  const deps = {
    cni: {
      getCachedAttachments: async () => [],
      delNetworkList: async (l: { name: string }, rt: { ifName: string; netns: string }) =>
        void calls.push(`DEL ${l.name} ${rt.ifName} "${rt.netns}"`),
    },
    resolver: { resolve: async () => ({ name: 'n1', list }) },
    hosts: { release: async (ns: string, id: string) => void calls.push(`hosts.release ${ns} ${id}`) },
    dns: { leave: async (ns: string, id: string) => void calls.push(`dns.leave ${ns} ${id}`) },
    state: {
      readLifecycle: async () => lifecycle,
      writeLifecycle: async (_dir: string, l: Record<string, unknown>) => void (lifecycle = l),
      readNetworkConfig: async () => ({ portMappings: [] }),
      readEndpoints: async () => undefined,
    },
    reserver: {
      holds: async (dir: string, pid: number) => (calls.push(`reserver.holds ${dir} ${pid}`), holds),
      stop: async (dir: string, opts: { pid?: number }) => (calls.push(`reserver.stop ${dir} ${opts.pid}`), true),
    },
    withCniLock: async <T>(fn: () => Promise<T>) => {
      calls.push('lock');
      try {
        return await fn();
      } finally {
        calls.push('unlock');
      }
    },
    log: () => undefined,
    faultPoint: () => undefined,
  } as unknown as AttachDeps;
  return { calls, deps, lifecycle: () => lifecycle };
}

const container = { id: 'c1', pid: 42, namespace: 'ns', stateDir: '/s', annotations: { 'tsnerd/networks': JSON.stringify(['n1']) } };

describe('releaseExited (a container that exited on its own)', () => {
  it("detaches without a netns, leaves the hosts files, marks it stopped and releases that pid's ports, all under the CNI lock", async () => {
    const { calls, deps, lifecycle } = fixture(true);
    await releaseExited(deps, container);
    assert.deepEqual(calls, [
      'lock',
      'reserver.holds /s 42',
      'DEL n1 eth0 ""',
      'hosts.release ns c1',
      'dns.leave ns c1',
      'reserver.stop /s 42',
      'unlock',
    ]);
    assert.equal(lifecycle()['pid'], 42);
    assert.equal(typeof lifecycle()['stopped_at'], 'string');
  });

  it("does nothing once the reservation is no longer that pid's (released by postStop, stop or rm, or restarted)", async () => {
    const { calls, deps, lifecycle } = fixture(false);
    await releaseExited(deps, container);
    assert.deepEqual(calls, ['lock', 'reserver.holds /s 42', 'unlock']);
    assert.equal(lifecycle()['stopped_at'], undefined);
  });
});
