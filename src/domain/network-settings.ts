/**
 * Docker's NetworkSettings for `inspect`, from the CNI results the hook
 * recorded (meta.json). Networks are keyed by their real names, where
 * nerdctl shows `unknown-eth0`.
 */
import type { CniResult } from './cni/result.ts';
import { dockerPortMap, type DockerPortBinding } from './publish/format-ports.ts';
import type { PortMapping } from './publish/port-mapping.ts';

export interface EndpointSettings {
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPv6Gateway: string;
  MacAddress: string;
}

/** Per network, Docker adds the names its embedded resolver answers for the container (null without DNS). */
export interface NetworkEndpoint extends EndpointSettings {
  DNSNames: string[] | null;
}

export interface NetworkSettings extends EndpointSettings {
  Ports: Record<string, DockerPortBinding[]>;
  Networks: Record<string, NetworkEndpoint>;
}

type Results = Record<string, Pick<CniResult, 'interfaces' | 'ips'> | undefined> | null | undefined;

const EMPTY: EndpointSettings = {
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
 * first is primary. `dnsNames`: the resolver's names of the container per network.
 */
export function networkSettings(results: Results, ports: readonly PortMapping[], dnsNames: Record<string, string[]> = {}): NetworkSettings {
  const networks: Record<string, NetworkEndpoint> = {};
  for (const [net, result] of Object.entries(results ?? {})) if (result) networks[net] = { ...endpoint(result), DNSNames: dnsNames[net] ?? null };
  const first = Object.values(networks)[0];
  const primary = first ? endpointOnly(first) : EMPTY;
  return { ...primary, Ports: dockerPortMap(ports), Networks: networks };
}

function endpointOnly({ DNSNames: _names, ...rest }: NetworkEndpoint): EndpointSettings {
  return rest;
}

function endpoint(result: Pick<CniResult, 'interfaces' | 'ips'>): EndpointSettings {
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
