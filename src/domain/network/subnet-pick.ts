import { conflict } from '../errors.ts';
import { type Cidr, nextCidr, overlaps, parseCidr } from './cidr.ts';
import { AUTO_SUBNET_START } from './constants.ts';
import { ipamOf, mainPlugin, networkSubnets, type Network } from './network.ts';

/**
 * First /24 from 10.4.1.0/24 upward that overlaps nothing in `used` (other
 * networks' subnets and the host's interface networks).
 */
export function pickFreeSubnet(used: readonly Cidr[], start: string = AUTO_SUBNET_START): Cidr {
  for (let candidate = parseCidr(start); candidate; candidate = nextCidr(candidate)) {
    const c = candidate;
    if (!used.some((u) => overlaps(u, c))) return c;
  }
  throw conflict('could not find free subnet');
}

/** Refuses a subnet that overlaps one in `used`, with nerdctl's message. */
export function assertNoOverlap(subnet: Cidr, used: readonly Cidr[]): void {
  if (used.some((u) => overlaps(u, subnet))) {
    throw conflict(`subnet ${subnet.text} overlaps with other one on this address space`);
  }
}

/**
 * The subnets that automatic allocation must avoid: those of bridge networks
 * with host-local IPAM (macvlan/ipvlan/dhcp live on the parent's LAN, as in nerdctl).
 */
export function allocatedSubnets(n: Network): Cidr[] {
  const main = mainPlugin(n);
  if (main?.type !== 'bridge' || ipamOf(main)?.type !== 'host-local') return [];
  return networkSubnets(n).flatMap((s) => parseCidr(s.subnet) ?? []);
}
