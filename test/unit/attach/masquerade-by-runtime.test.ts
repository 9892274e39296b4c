/**
 * The bridge plugin runs with ipMasq off and tsnerd makes and removes the container's
 * masquerade chain itself (domain/netfilter/ipmasq.ts, app/attach/cni-calls.ts): the plugins
 * get `ipMasq: false`, the result cache keeps the conflist's bytes (`ipMasq: true`), the chain is
 * made for the ADD result's addresses, and every DEL of a masquerading attachment removes it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addAttachment, delAttachment } from '../../../src/app/attach/cni-calls.ts';
import { detachAll } from '../../../src/app/attach/teardown.ts';
import type { AttachDeps } from '../../../src/app/attach/deps.ts';
import { parseConfList, type NetworkConfigList } from '../../../src/domain/cni/net-conf.ts';
import { masquerades, withoutPluginMasquerade } from '../../../src/domain/netfilter/ipmasq.ts';
import { TsnerdError } from '../../../src/domain/errors.ts';

const conflist = (ipMasq: boolean) =>
  parseConfList(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'n1',
      plugins: [{ type: 'bridge', bridge: 'br-n1', ipMasq, ipam: { type: 'host-local' } }, { type: 'firewall' }],
    }),
  );
const result = { cniVersion: '1.0.0', interfaces: [], ips: [{ address: '10.1.0.5/24' }, { address: 'fd00::5/64' }], routes: [], dns: {} };
const rt = { containerId: 'ns-c1', netns: '/proc/42/ns/net', ifName: 'eth0' };

function fixture(opts: { delFails?: boolean } = {}) {
  const calls: string[] = [];
  const ran: NetworkConfigList[] = [];
  const deps = {
    cni: {
      addNetworkList: async (l: NetworkConfigList) => (ran.push(l), calls.push('ADD'), result),
      delNetworkList: async (l: NetworkConfigList, r: { netns: string }) => {
        ran.push(l);
        calls.push(r.netns === '' ? 'DEL without netns' : 'DEL');
        if (opts.delFails) throw new TsnerdError('plugin', 'plugin "bridge" failed (del)');
      },
      getCachedResult: async () => result,
      getCachedAttachments: async () => [
        { networkName: 'n1', containerId: 'ns-c1', ifName: 'eth0', config: conflist(true).bytes, result, netns: '/proc/42/ns/net' },
      ],
    },
    addIpMasqChain: async (network: string, id: string, addresses: string[]) =>
      void calls.push(`chain ${network} ${id} ${addresses.join(' ')}`),
    removeIpMasqChain: async (network: string, id: string, ips: string[]) => void calls.push(`unchain ${network} ${id} ${ips.join(' ')}`),
    removeHashChains: async () => undefined,
    log: () => undefined,
  } as unknown as AttachDeps;
  return { calls, ran, deps };
}

describe('the masquerade chain made by tsnerd instead of the bridge plugin', () => {
  it('turns ipMasq off for the plugins only, keeping the conflist bytes the result cache records', () => {
    const list = conflist(true);
    const run = withoutPluginMasquerade(list);
    assert.equal(run.plugins[0]!.raw['ipMasq'], false);
    assert.equal(list.plugins[0]!.raw['ipMasq'], true, 'the original is not changed');
    assert.equal(run.bytes, list.bytes);
    assert.equal(masquerades(run), false);
    assert.equal(withoutPluginMasquerade(conflist(false)).plugins[0]!.raw['ipMasq'], false);
  });

  it("ADD runs the plugins without ipMasq, then makes the chain for the result's addresses", async () => {
    const { calls, ran, deps } = fixture();
    assert.equal(await addAttachment(deps, conflist(true), rt), result);
    assert.deepEqual(calls, ['ADD', 'chain n1 ns-c1 10.1.0.5/24 fd00::5/64']);
    assert.equal(ran[0]!.plugins[0]!.raw['ipMasq'], false);
    assert.equal(ran[0]!.bytes, conflist(true).bytes);
  });

  it('ADD of a list that does not masquerade makes no chain', async () => {
    const { calls, deps } = fixture();
    await addAttachment(deps, conflist(false), rt);
    assert.deepEqual(calls, ['ADD']);
  });

  it('DEL (disconnect, a connect undone) removes the chain before the plugins (whose DEL drops the cache entry), for the cached addresses', async () => {
    const { calls, ran, deps } = fixture();
    await delAttachment(deps, conflist(true), rt);
    assert.deepEqual(calls, ['unchain n1 ns-c1 10.1.0.5 fd00::5', 'DEL']);
    assert.equal(ran[0]!.plugins[0]!.raw['ipMasq'], false);
  });

  it('a DEL that fails puts the chain back: it stays with the attachment', async () => {
    const { calls, deps } = fixture({ delFails: true });
    await assert.rejects(delAttachment(deps, conflist(true), rt), /failed/);
    assert.deepEqual(calls, ['unchain n1 ns-c1 10.1.0.5 fd00::5', 'DEL', 'chain n1 ns-c1 10.1.0.5/24 fd00::5/64']);
  });

  it('detachAll removes the chain of a cached attachment before the plugins DEL it, with the netns too (stop), the plugins without ipMasq', async () => {
    const { calls, ran, deps } = fixture();
    const c = { id: 'c1', pid: 42, namespace: 'ns', stateDir: '/s', annotations: {} };
    await detachAll(deps, c, '/proc/42/ns/net');
    assert.deepEqual(calls, ['unchain n1 ns-c1 10.1.0.5 fd00::5', 'DEL']);
    assert.equal(ran[0]!.plugins[0]!.raw['ipMasq'], false);
  });
});
