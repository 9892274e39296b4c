/**
 * `--ip` and `--ip6` against the network that gets them (the first one):
 * what host-local would refuse in the OCI hook, refused before the container
 * exists, with the network and its subnets in the message.
 */
import { invalid } from '../errors.ts';
import { quote } from '../text.ts';
import { containsIp, familyOf, lastAddress, parseCidr, parseIp, type Cidr } from './cidr.ts';
import type { SubnetConfig } from './network.ts';

export interface AddressedNetwork {
  name: string;
  /** Empty when the IPAM is not host-local with subnets (dhcp, static…): nothing to check against. */
  subnets: readonly SubnetConfig[];
}

export function checkRequestedAddress(flag: '--ip' | '--ip6', value: string, network: AddressedNetwork): void {
  const ip = parseIp(value);
  if (!ip || network.subnets.length === 0) return;
  const family = familyOf(ip);
  const parsed = network.subnets.flatMap((s) => {
    const cidr = parseCidr(s.subnet);
    return cidr ? [{ config: s, cidr }] : [];
  });
  const same = parsed.filter((s) => s.cidr.family === family);
  const where = `network ${quote(network.name)}`;
  if (same.length === 0) throw invalid(`${flag} ${quote(value)} needs an IPv${family} subnet: ${where} has none`);
  const hit = same.find((s) => containsIp(s.cidr, ip));
  if (!hit) throw invalid(`${flag} ${quote(value)} is outside the subnets of ${where} (${same.map((s) => s.cidr.text).join(', ')})`);
  const { cidr, config } = hit;
  if (ip.isEquals(cidr.range.getFirst() as never))
    throw invalid(`${flag} ${quote(value)} is the network address of ${cidr.text} on ${where}`);
  if (ip.isEquals(lastAddress(cidr) as never))
    throw invalid(`${flag} ${quote(value)} is the broadcast address of ${cidr.text} on ${where}`);
  if (config.gateway !== undefined && parseIp(config.gateway)?.isEquals(ip as never)) {
    throw invalid(`${flag} ${quote(value)} is the gateway of ${where}`);
  }
  const range: Cidr | undefined = config.ipRange === undefined ? undefined : parseCidr(config.ipRange);
  if (range && !containsIp(range, ip)) throw invalid(`${flag} ${quote(value)} is outside the ip-range ${range.text} of ${where}`);
}
