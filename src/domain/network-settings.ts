/**
 * Docker's NetworkSettings for `inspect`, from the CNI results the hook
 * recorded (meta.json). Networks are keyed by their real names, where
 * nerdctl shows `unknown-eth0`.
 */
import type { CniResult } from './cni/result.ts';
import { sha256Hex } from './sha256.ts';
import { dockerPortMap, type DockerPortBinding } from './publish/format-ports.ts';
import type { PortMapping } from './publish/port-mapping.ts';

/** The address fields Docker has both per network and at the top level (the primary network's). */
export interface AddressSettings {
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPv6Gateway: string;
  MacAddress: string;
}

/** One network of `NetworkSettings.Networks`, Docker's EndpointSettings. */
export interface EndpointSettings extends AddressSettings {
  /** The user's network-scoped aliases (Docker >= 25 no longer adds the short ID here). */
  Aliases: string[] | null;
  /** Every name the container answers to on this network: name, aliases, short ID, hostname. */
  DNSNames: string[] | null;
  NetworkID: string;
  /** One per attachment: `endpointIdOf` (empty while the container has no address on the network). */
  EndpointID: string;
}

export interface NetworkSettings extends AddressSettings {
  Ports: Record<string, DockerPortBinding[]>;
  Networks: Record<string, EndpointSettings>;
}

/** What is known of one endpoint besides its CNI result. */
export interface EndpointInfo {
  network: string;
  aliases: readonly string[];
  networkId: string;
}

/** The names a container has on every network, for DNSNames. */
export interface ContainerNames {
  name: string;
  shortId: string;
  hostname: string;
}

/**
 * Docker's EndpointID (64 hex) of one attachment, the same in `inspect` and
 * `network inspect`: a hash of the CNI container ID and the container-side
 * interface of the result, its name (ethN) and MAC (new at each attachment).
 */
export function endpointIdOf(cniContainerId: string, result: Pick<CniResult, 'interfaces' | 'ips'>): string {
  const index = result.ips.find((ip) => ip.interface !== undefined)?.interface;
  const iface = (index === undefined ? undefined : result.interfaces[index]) ?? result.interfaces.find((i) => i.sandbox);
  if (!iface) return '';
  return sha256Hex(`${cniContainerId}\n${iface.name}\n${iface.mac ?? ''}`);
}

type Results = Record<string, Pick<CniResult, 'interfaces' | 'ips'> | undefined> | null | undefined;

const EMPTY: AddressSettings = {
  IPAddress: '',
  IPPrefixLen: 0,
  Gateway: '',
  GlobalIPv6Address: '',
  GlobalIPv6PrefixLen: 0,
  IPv6Gateway: '',
  MacAddress: '',
};

/**
 * `results` maps each `--net` value to its CNI result, in interface order; the
 * first is primary. `endpoints` (the container's recorded networks) adds the
 * networks without a result (a stopped container: no addresses) and the
 * aliases; `names` gives DNSNames.
 */
export function networkSettings(
  results: Results,
  ports: readonly PortMapping[],
  endpoints: readonly EndpointInfo[] = [],
  names?: ContainerNames,
  /** The DNS resolver's names of the container per network, when it serves them: they win. */
  dnsNames: Record<string, string[]> = {},
  /** The CNI container ID (`<namespace>-<id>`), for EndpointID. */
  cniContainerId = '',
): NetworkSettings {
  const networks: Record<string, EndpointSettings> = {};
  const info = new Map(endpoints.map((e) => [e.network, e]));
  const keys = [...new Set([...endpoints.map((e) => e.network), ...Object.keys(results ?? {})])];
  for (const net of keys) {
    const result = results?.[net];
    const e = info.get(net);
    const aliases = e ? [...e.aliases] : [];
    networks[net] = {
      ...(result ? addresses(result) : EMPTY),
      Aliases: aliases.length > 0 ? aliases : null,
      DNSNames:
        dnsNames[net] ?? (names ? [...new Set([names.name, ...aliases, names.shortId, names.hostname].filter((n) => n !== ''))] : null),
      NetworkID: e?.networkId ?? '',
      EndpointID: result && cniContainerId ? endpointIdOf(cniContainerId, result) : '',
    };
  }
  const primaryKey = Object.keys(results ?? {}).find((k) => results?.[k]);
  const primary = primaryKey ? addresses(results![primaryKey]!) : EMPTY;
  return { ...primary, Ports: dockerPortMap(ports), Networks: networks };
}

function addresses(result: Pick<CniResult, 'interfaces' | 'ips'>): AddressSettings {
  const e = { ...EMPTY };
  for (const ip of result.ips) {
    const [address = '', prefix = '0'] = ip.address.split('/');
    const iface = ip.interface === undefined ? undefined : result.interfaces[ip.interface];
    if (iface?.mac && !e.MacAddress) e.MacAddress = iface.mac;
    if (address.includes(':')) {
      if (e.GlobalIPv6Address) continue;
      e.GlobalIPv6Address = address;
      e.GlobalIPv6PrefixLen = Number(prefix);
      e.IPv6Gateway = ip.gateway ?? '';
    } else if (!e.IPAddress) {
      e.IPAddress = address;
      e.IPPrefixLen = Number(prefix);
      e.Gateway = ip.gateway ?? '';
    }
  }
  return e;
}
