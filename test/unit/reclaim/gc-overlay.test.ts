import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkGc } from '../../../src/app/reclaim/network-gc.ts';
import { remoteRecordsFile, remoteRecordsFileNetwork } from '../../../src/domain/dns/records.ts';
import { fakeReclaimDeps } from './fake-deps.ts';

function fixture() {
  const events: string[] = [];
  const deps = fakeReclaimDeps({
    overlay: {
      networks: async () => [
        { namespace: 'ns', name: 'up', running: true },
        { namespace: 'ns', name: 'down', running: false },
      ],
      startAgent: async (namespace: string, name: string) => void events.push(`start ${namespace}/${name}`),
      remoteFiles: async () => [
        { namespace: 'ns', name: 'up', file: '/d/remote-ns%2Fup.json' },
        { namespace: 'ns', name: 'gone', file: '/d/remote-ns%2Fgone.json' },
      ],
      removeRemoteFile: async (file: string) => void events.push(`rm ${file}`),
    },
  });
  return { deps, events };
}

describe('network gc: overlay networks', () => {
  it("starts the agents that do not run and removes the other hosts' names of networks this host no longer has", async () => {
    const { deps, events } = fixture();
    const { items, errors } = await networkGc(deps, { dryRun: false });
    assert.deepEqual(errors.errors, []);
    assert.deepEqual(events, ['rm /d/remote-ns%2Fgone.json', 'start ns/down']);
    assert.deepEqual(items, [{ kind: 'overlay-names-file', item: '/d/remote-ns%2Fgone.json', container: '' }]);
  });

  it('dry run: lists the stray file, starts and removes nothing', async () => {
    const { deps, events } = fixture();
    const { items } = await networkGc(deps, { dryRun: true });
    assert.deepEqual(events, []);
    assert.deepEqual(
      items.map((i) => i.kind),
      ['overlay-names-file'],
    );
  });

  it("a remote names file's name gives its network back", () => {
    for (const [ns, net] of [
      ['default', 'ovl'],
      ['a-b.c', 'x_y.z-1'],
    ] as const)
      assert.deepEqual(remoteRecordsFileNetwork(remoteRecordsFile(ns, net)), { namespace: ns, network: net });
    assert.equal(remoteRecordsFileNetwork('records.json'), undefined);
    assert.equal(remoteRecordsFileNetwork('.remote-ns%2Fx.json.tmp'), undefined);
    assert.equal(remoteRecordsFileNetwork('remote-nons.json'), undefined);
  });
});
