import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';
import { mayShare, rememberSetUp, sharableBridge } from '../../../src/domain/cni/shared-add.ts';
import { setupContainerNetworks } from '../../../src/app/attach/setup.ts';
import type { AttachDeps } from '../../../src/app/attach/deps.ts';
import { TsnerdError } from '../../../src/domain/errors.ts';

const conf = (plugins: object[], extra: object = {}) =>
  parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'n1', plugins, ...extra }));
const bridge = { type: 'bridge', bridge: 'br-n1', ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/24' }]] } };
const nerdctlChain = [bridge, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'firewall' }, { type: 'tuning' }];

describe('shared ADD (domain)', () => {
  it('names the bridge of a bridge network made of the reference plugins only', () => {
    assert.equal(sharableBridge(conf(nerdctlChain)), 'br-n1');
    assert.equal(sharableBridge(conf([{ ...bridge, bridge: undefined }])), 'cni0');
    assert.equal(sharableBridge(conf([...nerdctlChain, { type: 'bandwidth' }])), undefined, 'a plugin not known to be safe');
    assert.equal(sharableBridge(conf([{ ...bridge, ipam: { type: 'dhcp' } }])), undefined, 'dhcp IPAM');
    assert.equal(sharableBridge(conf([{ type: 'macvlan', master: 'eth0', ipam: { type: 'host-local' } }])), undefined);
    assert.equal(sharableBridge(conf(nerdctlChain, { tsnerdOverlay: { vni: 1 } })), undefined, 'overlay');
  });

  it('shares only a bridge set up in this boot with the same ifindex, and with ports only after an ADD with ports', () => {
    const facts = rememberSetUp(undefined, 'boot1', [{ name: 'br-n1', ifindex: 7 }], false);
    assert.equal(mayShare(facts, 'boot1', [{ name: 'br-n1', ifindex: 7 }], false), true);
    assert.equal(mayShare(facts, 'boot1', [{ name: 'br-n1', ifindex: 7 }], true), false, 'portmap chains unknown');
    assert.equal(mayShare(facts, 'boot1', [{ name: 'br-n1', ifindex: 9 }], false), false, 'bridge created again');
    assert.equal(mayShare(facts, 'boot1', [{ name: 'br-n1', ifindex: undefined }], false), false, 'bridge gone');
    assert.equal(mayShare(facts, 'boot2', [{ name: 'br-n1', ifindex: 7 }], false), false, 'rebooted');
    assert.equal(mayShare(facts, 'boot1', [{ name: 'br-n2', ifindex: 8 }], false), false, 'another bridge');
    const withPorts = rememberSetUp(facts, 'boot1', [{ name: 'br-n1', ifindex: 7 }], true);
    assert.equal(mayShare(withPorts, 'boot1', [{ name: 'br-n1', ifindex: 7 }], true), true);
    assert.equal(rememberSetUp(withPorts, 'boot1', [{ name: 'br-n1', ifindex: 7 }], false).bridges['br-n1']?.ports, true, 'kept');
    assert.deepEqual(rememberSetUp(withPorts, 'boot2', [{ name: 'br-n2', ifindex: 3 }], false).bridges, {
      'br-n2': { ifindex: 3, ports: false },
    });
    assert.equal(mayShare(facts, '', [{ name: 'br-n1', ifindex: 7 }], false), false, 'no boot id');
  });
});

/** setupContainerNetworks over fakes: which lock mode each ADD ran under. */
function fixture(opts: { allows: boolean; failShared?: string; removedMeanwhile?: boolean }) {
  const calls: string[] = [];
  let mode = '';
  const list = conf(nerdctlChain);
  const deps = {
    cni: {
      getCachedAttachments: async () => [],
      addNetworkList: async () => {
        calls.push(`ADD ${mode}`);
        if (opts.failShared && mode === 'shared') throw new TsnerdError('plugin', `plugin "firewall" failed (add): ${opts.failShared}`);
        return { cniVersion: '1.0.0', interfaces: [], ips: [{ address: '10.1.0.2/24' }], routes: [], dns: {} };
      },
      delNetworkList: async () => void calls.push(`DEL ${mode}`),
    },
    resolver: {
      resolve: async () => ({ name: 'n1', list }),
      // network rm ran after the network was read, before the CNI lock was taken
      stillDefined: async () => (calls.push(`defined? ${mode}`), !opts.removedMeanwhile),
    },
    hosts: { acquire: async () => void calls.push('hosts'), release: async () => undefined },
    state: {
      readLifecycle: async () => ({}),
      readNetworkConfig: async () => ({ portMappings: [] }),
      readEndpoints: async () => undefined,
    },
    reserver: { start: async () => undefined, stop: async () => false },
    dns: { join: async () => undefined, leave: async () => undefined },
    sharedAdd: {
      allows: async () => opts.allows,
      remember: async () => void calls.push(`remember ${mode}`),
    },
    removeDeadBridge: async () => undefined,
    addBridgeAddress: async () => undefined,
    removeIpMasqChain: async () => undefined,
    faultPoint: () => undefined,
    withCniLock: async <T>(fn: () => Promise<T>, o?: { shared?: boolean }) => {
      mode = o?.shared ? 'shared' : 'exclusive';
      try {
        return await fn();
      } finally {
        mode = '';
      }
    },
    log: () => undefined,
  } as unknown as AttachDeps;
  const c = { id: 'c1', pid: 42, namespace: 'ns', stateDir: '/s', annotations: { 'tsnerd/networks': JSON.stringify(['n1']) } };
  return { calls, run: () => setupContainerNetworks(deps, c) };
}

describe('createRuntime under the shared CNI lock', () => {
  it('adds alone and remembers the bridge as set up when sharing is not allowed yet', async () => {
    const { calls, run } = fixture({ allows: false });
    await run();
    assert.deepEqual(calls, ['defined? exclusive', 'ADD exclusive', 'remember exclusive', 'hosts']);
  });

  it('adds nothing to a network removed while the start waited for the CNI lock', async () => {
    const { calls, run } = fixture({ allows: false, removedMeanwhile: true });
    await assert.rejects(run(), { message: 'network "n1" not found: it was removed while the container was starting' });
    assert.deepEqual(calls, ['defined? exclusive']);
  });

  it('adds beside others when allowed', async () => {
    const { calls, run } = fixture({ allows: true });
    await run();
    assert.deepEqual(calls, ['defined? shared', 'ADD shared', 'hosts']);
  });

  it('rolls a shared ADD that lost a race back and adds again alone', async () => {
    const { calls, run } = fixture({
      allows: true,
      failShared: 'running [/usr/sbin/iptables -t filter -N CNI-FORWARD --wait]: exit status 1: iptables: Chain already exists.',
    });
    await run();
    assert.deepEqual(calls, [
      'defined? shared',
      'ADD shared',
      'DEL shared',
      'defined? exclusive',
      'ADD exclusive',
      'remember exclusive',
      'hosts',
    ]);
  });

  it('fails the start on any other plugin failure, rolled back', async () => {
    const { calls, run } = fixture({ allows: true, failShared: 'no space left in the IP range' });
    await assert.rejects(run(), /no space left/);
    assert.deepEqual(calls, ['defined? shared', 'ADD shared', 'DEL shared']);
  });
});
