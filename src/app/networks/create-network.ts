import { usage } from '../../domain/errors.ts';
import { type CreateNetworkInput, parseCreateInput } from '../../domain/network/create-spec.ts';
import { OVERLAY_DRIVER } from '../../domain/overlay/overlay-network.ts';
import type { NetworksDeps } from './deps.ts';
import { NetworkStore } from './network-store.ts';

/** The flags only `--driver overlay` takes. */
export interface OverlayFlags {
  etcdEndpoints?: string | undefined;
  subnetLen?: number | undefined;
  vni?: number | undefined;
  port?: number | undefined;
  etcdWaitMs?: number | undefined;
}

/** `network create`: validates everything first, then writes the conflist under the exclusive lock. Returns the ID. */
export async function createNetwork(deps: NetworksDeps, input: CreateNetworkInput & OverlayFlags): Promise<string> {
  if (input.driver === OVERLAY_DRIVER) {
    if (
      (input.gateways ?? []).length > 0 ||
      (input.ipRanges ?? []).length > 0 ||
      input.ipv6 ||
      input.internal ||
      (input.ipamDriver ?? 'default') !== 'default'
    ) {
      throw usage('--gateway, --ip-range, --ipv6, --internal and --ipam-driver do not apply to --driver overlay');
    }
    const { createOverlayNetwork } = await import('../overlay/create-overlay.ts');
    return createOverlayNetwork(deps, { ...input, etcdEndpoints: input.etcdEndpoints });
  }
  if ([input.etcdEndpoints, input.subnetLen, input.vni, input.port].some((v) => v !== undefined)) {
    throw usage('--etcd-endpoints, --subnet-len, --vni and --port need --driver overlay');
  }
  const spec = parseCreateInput(input);
  const store = new NetworkStore(deps);
  const network = await deps.confDir.withLock(async () => store.createUnlocked(spec, await store.listUnlocked()));
  return network.id!;
}
