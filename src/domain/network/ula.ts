/**
 * Automatic IPv6 subnets, for `network create --ipv6` without an IPv6 `--subnet`: Docker (27+) and
 * Podman give such a network a unique local /64, nerdctl refuses nothing but gives it none (its
 * issue #3637). The /64s come from one unique local /48 per host (RFC 4193: `fd` and a 40-bit
 * global ID), the ID taken from a hash of the host's machine ID, as Docker derives its prefix
 * from the engine's ID: each host has its own prefix (overlay hosts, a LAN of hosts), and a host's
 * prefix does not change between runs.
 */
import { conflict } from '../errors.ts';
import { sha256Hex } from '../sha256.ts';
import { type Cidr, formatIp, nextCidr, overlaps, parseCidr } from './cidr.ts';

/** The host's unique local /48 for automatic IPv6 subnets; `seed` is its machine ID. */
export function ulaPrefix(seed: string): Cidr {
  const id = sha256Hex(`tsnerd ula ${seed.trim()}`).slice(0, 10);
  return parseCidr(`fd${id.slice(0, 2)}:${id.slice(2, 6)}:${id.slice(6, 10)}::/48`)!;
}

/** The first /64 of `pool` that overlaps nothing in `used`. */
export function pickFreeIPv6Subnet(used: readonly Cidr[], pool: Cidr): Cidr {
  for (let c = parseCidr(`${formatIp(pool.range.getFirst())}/64`); c && overlaps(pool, c); c = nextCidr(c)) {
    const candidate = c;
    if (!used.some((u) => overlaps(u, candidate))) return candidate;
  }
  throw conflict(`could not find a free IPv6 subnet in ${pool.text}`);
}
