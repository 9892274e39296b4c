/**
 * The networking flags of `run`/`create`, validated together with nerdctl's
 * messages: --dns, --dns-search, --dns-opt, --add-host, -h, --domainname,
 * --mac-address, --ip, --ip6, --uts, -p.
 */
import { isIPv4, isIPv6, isIP } from 'node:net';
import { invalid, usage } from './errors.ts';
import type { NetworkMode } from './network-mode.ts';

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
}

const HOSTNAME_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const MAC_PATTERN = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
const HOST_GATEWAY = 'host-gateway';

export function validateNetworkFlags(f: NetworkFlags): void {
  if (f.uts !== undefined && f.uts !== '' && f.uts !== 'host') throw usage(`invalid UTS mode "${f.uts}": only "host" is supported`);
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
  for (const d of f.dns) if (!isIP(d)) throw invalid(`invalid --dns value "${d}": not an IP address`);
  if (f.hostname !== undefined && f.hostname !== '' && !HOSTNAME_PATTERN.test(f.hostname)) {
    throw invalid(`invalid hostname "${f.hostname}"`);
  }
  if (f.macAddress && !MAC_PATTERN.test(f.macAddress)) throw invalid(`invalid MAC address "${f.macAddress}"`);
  if (f.ip && !isIPv4(f.ip)) throw invalid(`invalid --ip "${f.ip}": not an IPv4 address`);
  if (f.ip6 && !isIPv6(f.ip6)) throw invalid(`invalid --ip6 "${f.ip6}": not an IPv6 address`);
  if ((f.ip || f.ip6 || f.macAddress) && f.mode.kind !== 'cni') {
    throw usage('--ip, --ip6 and --mac-address need a CNI network (not host, none or container:)');
  }
}

/** Main plugin types whose interface takes a requested MAC (nerdctl's list). */
const MAC_CAPABLE = ['bridge', 'macvlan'];

/** --mac-address goes to the first network's main plugin, which must honour it. */
export function assertMacAddressSupported(macAddress: string | undefined, mainPluginType: string | undefined): void {
  if (!macAddress || mainPluginType === undefined || MAC_CAPABLE.includes(mainPluginType)) return;
  throw invalid(`network type "${mainPluginType}" is not supported with --mac-address: only ${MAC_CAPABLE.join(' and ')} are`);
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
      if (sep <= 0 || !HOSTNAME_PATTERN.test(host)) throw invalid(`invalid --add-host "${entry}": expected host:ip`);
      if (ip === HOST_GATEWAY) {
        if (!hostGatewayIp) throw invalid('unable to derive the IP value for host-gateway');
        ip = hostGatewayIp;
      }
      if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
      if (!isIP(ip)) throw invalid(`invalid --add-host "${entry}": "${ip}" is not an IP address`);
      return `${host}:${ip}`;
    });
}
