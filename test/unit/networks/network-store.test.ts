import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { conflict, isTsnerdError } from '../../../src/domain/errors.ts';
import { AnyConflist } from '../../../src/domain/network/conflist-schema.ts';
import type { NetworkAttachment } from '../../../src/domain/network/inspect-view.ts';
import type { Network } from '../../../src/domain/network/network.ts';
import type { NetworksDeps } from '../../../src/app/networks/deps.ts';
import { NetworkStore } from '../../../src/app/networks/network-store.ts';
import { createNetwork } from '../../../src/app/networks/create-network.ts';
import { pruneNetworks, removeNetworks } from '../../../src/app/networks/remove-networks.ts';
import type { ConfFile, NetworkConfDir } from '../../../src/interfaces/network-conf-dir.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BridgeRegistry } from '../../../src/interfaces/bridge-registry.ts';
import { LowdbBridgeRegistry } from '../../../src/adapters/store/lowdb-bridge-registry.ts';
import { parseCreateInput } from '../../../src/domain/network/create-spec.ts';
import { cidrs, templates } from './helpers.ts';

/** The conf dir as a map of path → file text. */
class MemoryConfDir implements NetworkConfDir {
  readonly files = new Map<string, string>();
  failNextWrite = false;

  async list(namespace: string): Promise<{ files: ConfFile[]; warnings: string[] }> {
    const visible = [...this.files.keys()].filter((p) => /^\/c\/[^/]+$/.test(p) || p.startsWith(`/c/${namespace}/`)).sort();
    return {
      files: visible.map((path) => ({ path, conflist: AnyConflist.parse(JSON.parse(this.files.get(path)!)), modified: new Date(0) })),
      warnings: [],
    };
  }
  async create(path: string, content: string): Promise<void> {
    if (this.files.has(path)) throw conflict(`"${path}" already exists`);
    if (this.failNextWrite) {
      this.failNextWrite = false;
      this.files.set(path, content.slice(0, 10));
      throw new Error('ENOSPC');
    }
    this.files.set(path, content);
  }
  async remove(path: string): Promise<void> {
    this.files.delete(path);
  }
  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }
}

function setup(opts: { hostSubnets?: string[]; missing?: string[]; inUse?: string[]; firewall?: string; bridges?: BridgeRegistry } = {}) {
  const confDir = new MemoryConfDir();
  const deletedLinks: string[] = [];
  const isolationRemoved: string[] = [];
  const hostLocalDirs: string[] = [];
  const warnings: string[] = [];
  const deps: NetworksDeps = {
    confDir,
    host: {
      machineId: async () => 'f00dfeed',
      interfaceSubnets: async (except: readonly string[] = []) =>
        cidrs(
          ...(opts.hostSubnets ?? []).filter((s) => !except.some((link) => s.startsWith(`${link}=`))).map((s) => s.replace(/^.*=/, '')),
        ),
      missingPlugins: async (types) => types.filter((t) => (opts.missing ?? []).includes(t)),
      pluginAbout: async () => opts.firewall ?? 'CNI firewall plugin v1.7.1',
      deleteLink: async (name) => void deletedLinks.push(name),
      removeBridgeRules: async (bridge) => void isolationRemoved.push(bridge),
      removeHostLocalDir: async (network, dataDir) => void hostLocalDirs.push(`${network} ${dataDir ?? 'default'}`),
      templates: async () => templates(),
    },
    containers: {
      attachments: async (n: Network): Promise<NetworkAttachment[]> =>
        (opts.inUse ?? []).includes(n.name)
          ? [{ containerId: 'c1', name: 'web', endpointId: 'e1', macAddress: '', ipv4Address: '', ipv6Address: '' }]
          : [],
    },
    netconfPath: '/c',
    cniPath: '/opt/cni/bin',
    namespace: 'ns',
    warn: (line) => void warnings.push(line),
    ...(opts.bridges ? { bridges: opts.bridges } : {}),
  };
  return { deps, confDir, deletedLinks, isolationRemoved, hostLocalDirs, warnings, store: new NetworkStore(deps) };
}

describe('NetworkStore and network use cases', () => {
  it('creates in the namespace folder, returns the ID, and refuses a second network of that name', async () => {
    const { deps, confDir } = setup();
    assert.equal(await createNetwork(deps, { name: 'foo' }), '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae');
    assert.deepEqual([...confDir.files.keys()], ['/c/ns/nerdctl-foo.conflist']);
    await assert.rejects(createNetwork(deps, { name: 'foo', subnets: ['10.202.0.0/24'] }), {
      message: 'network with name foo already exists',
    });
    assert.equal(confDir.files.size, 1);
  });

  it('the loser of two creates of one name leaves the winner bridge record; a failed write leaves none', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'bridges-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const bridges = new LowdbBridgeRegistry(root);
    const records = async () => (await bridges.list()).map((b) => `${b.link} ${b.file}`);
    const { deps, store, confDir } = setup({ bridges });
    await createNetwork(deps, { name: 'fx' });
    // The loser listed the networks before the winner wrote its file (as without the conf dir's lock).
    await assert.rejects(store.createUnlocked(parseCreateInput({ name: 'fx' }), []), {
      message: '"/c/ns/nerdctl-fx.conflist" already exists',
    });
    assert.deepEqual(await records(), ['br-6956e1dffd68 /c/ns/nerdctl-fx.conflist']);

    confDir.failNextWrite = true;
    await assert.rejects(createNetwork(deps, { name: 'fy' }), /ENOSPC/);
    assert.deepEqual(await records(), ['br-6956e1dffd68 /c/ns/nerdctl-fx.conflist']);
  });

  it('picks subnets around host interfaces and other networks', async () => {
    const { deps, store } = setup({ hostSubnets: ['10.4.1.5/24', '192.168.1.2/24'] });
    await createNetwork(deps, { name: 'one' });
    await createNetwork(deps, { name: 'two' });
    const subnets = (await store.list()).map((n) => [
      n.name,
      JSON.parse(JSON.stringify(n.conflist.plugins[0]!['ipam'])).ranges[0][0].subnet,
    ]);
    assert.deepEqual(subnets, [
      ['one', '10.4.2.0/24'],
      ['two', '10.4.3.0/24'],
    ]);
    await assert.rejects(createNetwork(deps, { name: 'three', subnets: ['10.4.3.0/25'] }), {
      message: 'subnet 10.4.3.0/25 overlaps with other one on this address space',
    });
  });

  it('writes nothing when a plugin is missing or the write fails', async () => {
    const missing = setup({ missing: ['firewall'] });
    await assert.rejects(
      createNetwork(missing.deps, { name: 'foo' }),
      (err: unknown) =>
        isTsnerdError(err, 'precondition') &&
        err.message ===
          'needs CNI plugin "firewall" to be installed in CNI_PATH ("/opt/cni/bin"), see https://github.com/containernetworking/plugins/releases',
    );
    assert.equal(missing.confDir.files.size, 0);

    const failing = setup();
    failing.confDir.failNextWrite = true;
    await assert.rejects(createNetwork(failing.deps, { name: 'foo' }), /ENOSPC/);
    assert.equal(failing.confDir.files.size, 0);
  });

  it('icc=false isolates only with a firewall plugin that supports it, else warns', async () => {
    const policy = (c: MemoryConfDir) => JSON.parse([...c.files.values()][0]!).plugins[2].ingressPolicy;
    const recent = setup();
    await createNetwork(recent.deps, { name: 'foo', options: ['icc=false'] });
    assert.equal(policy(recent.confDir), 'isolated');
    assert.deepEqual(recent.warnings, []);

    const old = setup({ firewall: 'CNI firewall plugin version unknown' });
    await createNetwork(old.deps, { name: 'foo', options: ['icc=false'] });
    assert.equal(policy(old.confDir), 'same-bridge');
    assert.match(old.warnings[0]!, /icc=false needs the CNI firewall plugin >= v1.7.1/);
  });

  it('creates the default bridge at the top level once, and honours an existing one', async () => {
    const { store, confDir } = setup();
    const created = await store.ensureDefaultBridge();
    assert.equal(created.file, '/c/nerdctl-bridge.conflist');
    assert.equal((await store.ensureDefaultBridge()).file, created.file);
    assert.equal(confDir.files.size, 1);

    const foreign = setup();
    foreign.confDir.files.set('/c/10-bridge.conf', JSON.stringify({ name: 'bridge', plugins: [{ type: 'bridge' }] }));
    assert.equal((await foreign.store.ensureDefaultBridge()).file, '/c/10-bridge.conf');
    assert.equal(foreign.confDir.files.size, 1);
  });

  it('creates the default bridge when its own nerdctl0 link is already up on 10.4.0.0/24', async () => {
    const { store } = setup({ hostSubnets: ['nerdctl0=10.4.0.1/24'] });
    assert.equal((await store.ensureDefaultBridge()).name, 'bridge');
  });

  it('refuses the default 10.4.0.0/24 when a host interface holds it', async () => {
    const { store } = setup({ hostSubnets: ['10.4.0.9/24'] });
    await assert.rejects(store.ensureDefaultBridge(), { message: 'subnet 10.4.0.0/24 overlaps with other one on this address space' });
  });

  it('rm removes the file, the bridge link and its isolation rules, and refuses bridge, foreign files, pseudo and in-use networks', async () => {
    const { deps, store, confDir, deletedLinks, isolationRemoved, hostLocalDirs } = setup({ inUse: ['busy'] });
    await store.ensureDefaultBridge();
    await createNetwork(deps, { name: 'foo' });
    await createNetwork(deps, { name: 'busy' });
    confDir.files.set('/c/10-hand.conf', JSON.stringify({ name: 'hand', plugins: [{ type: 'bridge' }] }));
    const { removed, errors } = await removeNetworks(deps, ['2c26b46b', 'bridge', 'hand', 'host', 'busy', 'nope']);
    assert.deepEqual(removed, ['2c26b46b']);
    assert.deepEqual(deletedLinks, ['br-2c26b46b68ff']);
    assert.deepEqual(isolationRemoved, ['br-2c26b46b68ff'], "the firewall plugin's isolation rules go with the bridge");
    assert.deepEqual(hostLocalDirs, ['foo default'], "host-local's dir of the network removed (its IPAM has no dataDir)");
    assert.deepEqual(
      errors.errors.map((e) => e.message),
      [
        'cannot remove pre-defined network bridge',
        'network "hand" was not created by tsnerd or nerdctl and cannot be removed',
        'pseudo network not allowed: "host"',
        'network "busy" is in use by container "[c1]"',
        'no network found matching: "nope"',
      ],
    );
    assert.deepEqual([...confDir.files.keys()].sort(), ['/c/10-hand.conf', '/c/nerdctl-bridge.conflist', '/c/ns/nerdctl-busy.conflist']);
  });

  it('rm and prune check for users and remove under the CNI lock, taken before the conf dir lock', async () => {
    const { deps, confDir } = setup();
    const events: string[] = [];
    const locked =
      (name: string) =>
      async <T>(fn: () => Promise<T>): Promise<T> => {
        events.push(`${name} lock`);
        try {
          return await fn();
        } finally {
          events.push(`${name} unlock`);
        }
      };
    confDir.withLock = locked('conf');
    const remove = confDir.remove.bind(confDir);
    confDir.remove = async (path) => {
      events.push(`remove ${path}`);
      await remove(path);
    };
    deps.host.removeHostLocalDir = async (network) => void events.push(`host-local dir ${network}`);
    deps.cniUsers = {
      live: async (network) => (events.push(`live ${network}`), []),
      releaseStale: async (network) => (events.push(`release ${network}`), []),
      withLock: locked('cni'),
    };
    for (const run of [() => removeNetworks(deps, ['fx']), () => pruneNetworks(deps)]) {
      await createNetwork(deps, { name: 'fx' });
      events.length = 0;
      await run();
      assert.deepEqual(events, [
        'cni lock',
        'conf lock',
        'live fx',
        'release fx',
        'remove /c/ns/nerdctl-fx.conflist',
        'host-local dir fx',
        'conf unlock',
        'cni unlock',
      ]);
    }
  });

  it('prune removes unused managed networks only', async () => {
    const { deps, store, confDir } = setup({ inUse: ['busy'] });
    await store.ensureDefaultBridge();
    for (const name of ['a1', 'busy', 'b2']) await createNetwork(deps, { name });
    confDir.files.set('/c/10-hand.conf', JSON.stringify({ name: 'hand', plugins: [{ type: 'bridge' }] }));
    const { removed } = await pruneNetworks(deps);
    assert.deepEqual(removed, ['a1', 'b2']);
    assert.deepEqual(
      (await store.list()).map((n) => n.name),
      ['hand', 'bridge', 'busy'],
    );
  });
});
