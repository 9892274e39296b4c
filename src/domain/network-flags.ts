/**
 * The networking flags of `run`/`create`, validated together with nerdctl's
 * messages: --dns, --dns-search, --dns-opt, --add-host, -h, --domainname,
 * --mac-address, --ip, --ip6, --uts, -p.
 */
import { isIPv4, isIPv6, isIP } from 'node:net';
import { invalid, usage } from './errors.ts';
import type { NetworkMode } from './network-mode.ts';
import { assertNoControlCharacters, quote } from './text.ts';
import { ALIAS_ON_DEFAULT_NETWORK, isUnicastMac, type NetworkSpecEntry } from './network/endpoint.ts';

export interface NetworkFlags {
  mode: NetworkMode;
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  addHosts: string[];
  hostname?: string | undefined;
  domainname?: string | undefined;
  macAddress?: string | undefined;
  ip?: string | undefined;
  ip6?: string | undefined;
  uts?: string | undefined;
  publish: string[];
  publishAll: boolean;
  expose: string[];
  /** `--network-alias`: aliases on the first network. */
  networkAliases?: string[] | undefined;
  /** The `--net` values with their per-network options (`--net NAME,alias=A,ip=IP`), from parseNetworkSpecs. */
  networkSpecs?: NetworkSpecEntry[] | undefined;
}

const HOSTNAME_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const MAC_PATTERN = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
const HOST_GATEWAY = 'host-gateway';
/** The kernel's limit for the UTS host and domain names (HOST_NAME_MAX). */
const MAX_UTS_NAME = 64;

/**
 * A host or domain name for the UTS namespace and the hosts file: a DNS name
 * of at most 64 characters.
 */
function validateUtsName(flag: string, value: string): void {
  if (!HOSTNAME_PATTERN.test(value)) throw invalid(`invalid ${flag} ${quote(value)}: not a valid DNS name`);
  if (value.length > MAX_UTS_NAME) throw invalid(`invalid ${flag} ${quote(value)}: longer than ${MAX_UTS_NAME} characters`);
}

export function validateNetworkFlags(f: NetworkFlags): void {
  if (f.uts !== undefined && f.uts !== '' && f.uts !== 'host') throw usage(`invalid UTS mode ${quote(f.uts)}: only "host" is supported`);
  if (f.uts === 'host' && (f.hostname || f.domainname)) {
    throw usage('conflicting options: hostname and the UTS mode "host"');
  }
  if (f.mode.kind === 'container') {
    const given = [
      f.hostname ? '--hostname' : '',
      f.domainname ? '--domainname' : '',
      f.publish.length > 0 || f.publishAll ? '--publish' : '',
      f.dns.length > 0 ? '--dns' : '',
      f.addHosts.length > 0 ? '--add-host' : '',
    ].filter(Boolean);
    if (given.length > 0) {
      throw usage(
        `conflicting options: the following arguments are not supported when using --network=container:${f.mode.container}: [${given.join(' ')}]`,
      );
    }
  }
  for (const d of f.dns) if (!isIP(d)) throw invalid(`invalid --dns value ${quote(d)}: not an IP address`);
  // Each value is one word of a resolv.conf line: a newline would add lines (a nameserver) to the file.
  for (const s of f.dnsSearch) {
    assertNoControlCharacters('--dns-search', s);
    if (/\s/.test(s) || s === '') throw invalid(`invalid --dns-search ${quote(s)}: not a domain name`);
  }
  for (const o of f.dnsOptions) {
    assertNoControlCharacters('--dns-opt', o);
    if (/\s/.test(o) || o === '') throw invalid(`invalid --dns-opt ${quote(o)}: one option per value, without spaces`);
  }
  if (f.hostname !== undefined && f.hostname !== '') validateUtsName('hostname', f.hostname);
  if (f.domainname !== undefined && f.domainname !== '') validateUtsName('domainname', f.domainname);
  if (f.macAddress && !MAC_PATTERN.test(f.macAddress)) throw invalid(`invalid MAC address ${quote(f.macAddress)}`);
  if (f.macAddress && !isUnicastMac(f.macAddress)) {
    throw invalid(`invalid MAC address ${quote(f.macAddress)}: a multicast or all-zero address cannot be assigned to an interface`);
  }
  if (f.ip && !isIPv4(f.ip)) throw invalid(`invalid --ip ${quote(f.ip)}: not an IPv4 address`);
  if (f.ip6 && !isIPv6(f.ip6)) throw invalid(`invalid --ip6 ${quote(f.ip6)}: not an IPv6 address`);
  if ((f.ip || f.ip6 || f.macAddress) && f.mode.kind !== 'cni') {
    throw usage('--ip, --ip6 and --mac-address need a CNI network (not host, none or container:)');
  }
  if (f.mode.kind !== 'cni') {
    const specs = f.networkSpecs ?? [];
    if ((f.networkAliases ?? []).length > 0 || specs.some((s) => s.options.aliases.length > 0)) throw invalid(ALIAS_ON_DEFAULT_NETWORK);
    if (specs.some((s) => s.advanced))
      throw usage('per-network options (ip=, ip6=, mac=) need a CNI network (not host, none or container:)');
  }
}

/** Main plugin types whose interface takes a requested MAC (nerdctl's list). */
const MAC_CAPABLE = ['bridge', 'macvlan'];

/** --mac-address goes to the first network's main plugin, which must honour it. */
export function assertMacAddressSupported(macAddress: string | undefined, mainPluginType: string | undefined): void {
  if (!macAddress || mainPluginType === undefined || MAC_CAPABLE.includes(mainPluginType)) return;
  throw invalid(`network type ${quote(mainPluginType)} is not supported with --mac-address: only ${MAC_CAPABLE.join(' and ')} are`);
}

/**
 * `--add-host name:ip` values (comma-separated allowed) as `name:ip` strings,
 * `host-gateway` replaced by the host's address (Docker's ValidateExtraHost).
 */
export function parseAddHosts(values: readonly string[], hostGatewayIp: string | undefined): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((entry) => {
      const sep = entry.indexOf(':');
      const host = entry.slice(0, sep);
      let ip = entry.slice(sep + 1);
      if (sep <= 0 || !HOSTNAME_PATTERN.test(host)) throw invalid(`invalid --add-host ${quote(entry)}: expected host:ip`);
      if (ip === HOST_GATEWAY) {
        if (!hostGatewayIp) throw invalid('unable to derive the IP value for host-gateway');
        if (!isIP(hostGatewayIp)) throw invalid(`invalid --host-gateway-ip ${quote(hostGatewayIp)}: not an IP address`);
        ip = hostGatewayIp;
      }
      if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
      if (!isIP(ip)) throw invalid(`invalid --add-host ${quote(entry)}: ${quote(ip)} is not an IP address`);
      return `${host}:${ip}`;
    });
}
