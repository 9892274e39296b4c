/**
 * network gc's deps for unit tests: a host with nothing on it, where no process is alive and
 * every removal succeeds. A test passes what it looks at; an object-valued dep (inventory, cni,
 * hostCni, store, ...) is merged into the default one, anything else replaces it.
 */
import type { ReclaimDeps } from '../../../src/app/reclaim/deps.ts';
import type { InventoryContainer } from '../../../src/interfaces/container-inventory.ts';

const MERGED = ['inventory', 'cni', 'hostCni', 'reserver', 'hosts', 'dns', 'store', 'bridges'] as const;

export function fakeReclaimDeps(over: Record<string, unknown> = {}): ReclaimDeps {
  const defaults: Record<string, unknown> = {
    inventory: inventoryOf([]),
    networks: async () => [],
    cni: { getCachedAttachments: async () => [] },
    hostCni: {
      allocations: async () => [],
      allAllocations: async () => [],
      firewallRules: async () => [],
      taggedRules: async () => [],
      hashChains: async () => [],
      removeHashChains: async () => [],
      isolatedBridges: async () => new Set(),
      dnsRuleBridges: async () => new Set(),
    },
    reserver: { reconcile: async () => [] },
    hosts: { list: async () => [] },
    dns: {
      containers: async () => [],
      ensureServing: async () => undefined,
      ruleBridges: async () => [],
      forgetRules: async () => undefined,
    },
    store: {
      names: async () => [],
      stateDirs: async () => [],
      hostsDirs: async () => [],
      creationClaim: async () => undefined,
      startDeadline: async () => undefined,
      initProcess: async () => undefined,
      removeDir: async () => undefined,
    },
    bridges: { list: async () => [] },
    storeRoot: '/s',
    removeIpMasqChain: async () => undefined,
    removeStaleHookServerFiles: async () => [],
    removeStaleCliServerFiles: async () => [],
    withCniLock: <T>(fn: () => Promise<T>): Promise<T> => fn(),
    processAlive: async () => false,
    killProcess: async () => true,
    shimPids: async () => [],
    killShim: async () => undefined,
    recordedInterfaces: async () => undefined,
    reapers: async () => new Set(),
    removeContainer: async () => undefined,
    now: () => new Date(),
    graceMs: 60_000,
  };
  const deps = { ...defaults, ...over };
  for (const key of MERGED) if (key in over) deps[key] = { ...(defaults[key] as object), ...(over[key] as object) };
  return deps as unknown as ReclaimDeps;
}

/** containerd's inventory: these containers in namespace `ns`. */
export function inventoryOf(containers: readonly InventoryContainer[], namespaces: readonly string[] = ['ns']): Record<string, unknown> {
  return {
    list: async () => ({ namespaces: [...namespaces], containers: [...containers], daemonStartedAt: undefined, snapshotLeases: [] }),
    exists: async (_ns: string, id: string) => containers.some((c) => c.id === id),
  };
}
