/**
 * `network rm` of an overlay network on this host: stop the agent (so nothing
 * claims the lease again), give the subnet lease back in etcd, remove the
 * VXLAN device (its routes, neighbours and FDB entries go with it) and the
 * rules, and forget the local state. This host's DNS names in etcd go first, and the file
 * of the other hosts' names the agent kept for the resolver. Other hosts drop their paths to this one
 * when their watch sees the lease go. The config in etcd stays (flannel's
 * config is the fabric's, not one host's), unless `--force` is given on the
 * last host holding a lease; see docs/overlay.md.
 */
import { leaseKey, parseIpv4Net } from '../../domain/overlay/flannel.ts';
import { hostNamesPrefix, tsnerdPrefix } from '../../domain/overlay/names.ts';
import type { OverlayRef } from '../../domain/overlay/overlay-network.ts';
import type { NetworksDeps } from '../networks/deps.ts';
import { overlayDeps } from './create-overlay.ts';
import { ownedOrFree } from './lease.ts';

const RM_ETCD_WAIT_MS = 3_000;

export async function leaveOverlay(deps: NetworksDeps, name: string, ref: OverlayRef, opts: { deleteConfig: boolean }): Promise<void> {
  const ov = await overlayDeps(deps);
  await ov.agents.stop(ov.states.dir(deps.namespace, name));
  // Read once the agent is gone: it records the leases it takes (the names lease, after a restart) in the state.
  const state = await ov.states.read(deps.namespace, name).catch(() => undefined);
  if (state) {
    const subnet = parseIpv4Net(state.subnet);
    try {
      const etcd = await ov.connect(ref, { waitMs: RM_ETCD_WAIT_MS });
      try {
        // This host's DNS names first: the other hosts' resolvers drop them when their watch sees them go.
        if (subnet) await etcd.names.deletePrefix(hostNamesPrefix(ref.etcdPrefix, subnet));
        if (state.namesLeaseId !== undefined) await etcd.revoke(state.namesLeaseId);
        if (subnet) await etcd.deleteLease(leaseKey(ref.etcdPrefix, subnet), ownedOrFree(state.publicIp));
        if (state.leaseId !== undefined) await etcd.revoke(state.leaseId);
        if (opts.deleteConfig) {
          const left = await etcd.listLeases();
          if (left.length === 0) {
            await etcd.deleteConfig();
            // Names of hosts that died without a network rm, until their lease ends: none is left to serve them.
            await etcd.names.deletePrefix(tsnerdPrefix(ref.etcdPrefix));
          } else deps.warn(`the config stays in etcd: ${left.length} other host(s) still hold a lease`);
        }
      } finally {
        etcd.close();
      }
    } catch (err) {
      deps.warn(`the lease of ${state.subnet} stays in etcd until it expires (24h): ${(err as Error).message}`);
    }
    await ov.host.teardown(state.device, state.vni);
  }
  await ov.remoteNames.remove(deps.namespace, name);
  await ov.states.remove(deps.namespace, name);
}
