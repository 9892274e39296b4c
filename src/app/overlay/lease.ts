/** Taking and giving back this host's subnet lease (flannel's semantics, etcd transactions). */
import { conflict } from '../../domain/errors.ts';
import {
  LEASE_TTL_SECONDS,
  type Ipv4Net,
  type Lease,
  type OverlayConfig,
  chooseSubnet,
  formatNet,
  leaseAttrs,
  leaseKey,
  parseLeaseAttrs,
  subnetCount,
  subnetOfLeaseKey,
} from '../../domain/overlay/flannel.ts';
import type { EtcdLease, FlannelStore } from '../../interfaces/overlay.ts';

export async function readLeases(store: FlannelStore, prefix: string): Promise<Lease[]> {
  const leases: Lease[] = [];
  for (const kv of await store.listLeases()) {
    const subnet = subnetOfLeaseKey(prefix, kv.key);
    const attrs = parseLeaseAttrs(kv.value);
    if (subnet && attrs) leases.push({ subnet, attrs });
  }
  return leases;
}

/** A key may be (re)written by this host when free or when it already holds this host's public IP. */
export function ownedOrFree(publicIp: string): (current: string | undefined) => boolean {
  return (current) => current === undefined || parseLeaseAttrs(current)?.PublicIP === publicIp;
}

export interface Claimed {
  subnet: Ipv4Net;
  lease: EtcdLease;
}

/**
 * Leases a subnet for this host: `preferred` if it is still free or ours,
 * else one chosen by flannel's rules; retried when another host wins a race.
 */
export async function claimSubnet(
  store: FlannelStore,
  prefix: string,
  config: OverlayConfig,
  who: { publicIp: string; vtepMac: string },
  preferred: Ipv4Net | undefined,
): Promise<Claimed> {
  const value = JSON.stringify(leaseAttrs(who.publicIp, config.vni, who.vtepMac));
  for (let attempt = 0; attempt < 10; attempt++) {
    const leases = await readLeases(store, prefix);
    const subnet = chooseSubnet(config, leases, who.publicIp, preferred);
    if (!subnet) {
      const n = subnetCount(config);
      throw conflict(
        `no free subnet in overlay ${formatNet(config.network)}: all ${n} /${config.subnetLen} subnet${n === 1 ? ' is' : 's are'} leased to other hosts`,
      );
    }
    const lease = await store.putLease(leaseKey(prefix, subnet), value, LEASE_TTL_SECONDS, ownedOrFree(who.publicIp));
    if (lease) return { subnet, lease };
    preferred = undefined;
  }
  throw conflict(`could not lease a subnet in overlay ${formatNet(config.network)}: other hosts kept taking them`);
}
