/**
 * The rollback of a failed createRuntime (detachAll with `rollback`): a DEL that
 * fails in the container's netns is run again without it, so the plugins still
 * release what they hold outside (found by the chaos soak: a bridge plugin
 * killed before its masquerade chain made the DEL in the netns fail, and the
 * CNI cache entry stayed until `network gc`). Outside a rollback the failure stands.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detachAll } from '../../../src/app/attach/teardown.ts';
import type { AttachDeps } from '../../../src/app/attach/deps.ts';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';
import { TsnerdError } from '../../../src/domain/errors.ts';

const list = parseConfList(
  JSON.stringify({ cniVersion: '1.0.0', name: 'n1', plugins: [{ type: 'bridge', bridge: 'br-n1', ipam: { type: 'host-local' } }] }),
);

function fixture(opts: { failWithout?: boolean } = {}) {
  const dels: string[] = [];
  const chains: string[] = [];
  const deps = {
    cni: {
      getCachedAttachments: async () => [],
      delNetworkList: async (_l: unknown, rt: { netns: string }) => {
        dels.push(rt.netns === '' ? 'DEL without netns' : 'DEL in netns');
        if (rt.netns !== '' || opts.failWithout)
          throw new TsnerdError('plugin', `plugin "bridge" failed (del): Chain 'CNI-0123abcd' does not exist`);
      },
    },
    resolver: { resolve: async () => ({ name: 'n1', list }) },
    state: { readNetworkConfig: async () => ({ portMappings: [] }), readEndpoints: async () => undefined },
    removeIpMasqChain: async () => undefined,
    removeHashChains: async (owners: { network: string; cniId: string }[]) =>
      void chains.push(...owners.map((o) => `${o.network} ${o.cniId}`)),
    log: () => undefined,
  } as unknown as AttachDeps;
  const c = { id: 'c1', pid: 42, namespace: 'ns', stateDir: '/s', annotations: { 'tsnerd/networks': JSON.stringify(['n1']) } };
  return { dels, chains, deps, c };
}

describe('DEL in a rollback', () => {
  it('runs again without the netns when the DEL in it fails', async () => {
    const { dels, deps, c } = fixture();
    await detachAll(deps, c, '/proc/42/ns/net', { rollback: true });
    assert.deepEqual(dels, ['DEL in netns', 'DEL without netns']);
  });

  it('fails as before outside a rollback (a stop or a disconnect keeps its networks, and its chains)', async () => {
    const { dels, chains, deps, c } = fixture();
    await assert.rejects(detachAll(deps, c, '/proc/42/ns/net'), /does not exist/);
    assert.deepEqual(dels, ['DEL in netns']);
    assert.deepEqual(chains, []);
  });

  it("a DEL that fails without netns (the container is gone) is followed by the removal of the container's hash chains", async () => {
    const { chains, deps, c } = fixture({ failWithout: true });
    await assert.rejects(detachAll(deps, c, ''), /does not exist/);
    assert.deepEqual(chains, ['n1 ns-c1']);
  });

  it('a DEL that succeeds lists no chain (postStop pays no iptables run for it)', async () => {
    const { chains, deps, c } = fixture();
    await detachAll(deps, c, '');
    assert.deepEqual(chains, []);
  });
});
