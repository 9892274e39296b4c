/**
 * `network create` input → a validated spec. Pure: everything that can be
 * checked without looking at other networks or the host is checked here, with
 * nerdctl's messages where nerdctl has one.
 */
import { TsnerdError, invalid } from '../errors.ts';
import { isReservedLabelKey } from '../container-flags.ts';
import { assertNoControlCharacters, hasControlCharacter as hasControl, quote } from '../text.ts';
import { type Cidr, type Ip, containsIp, firstHost, formatIp, lastAddress, overlaps, parseCidr, parseIp, specialRangeOf } from './cidr.ts';
import { DNS_LABEL, DRIVERS, type Driver, IPAM_DRIVERS, type IpamDriver } from './constants.ts';
import { validateNetworkName } from './network-name.ts';

export interface CreateNetworkInput {
  name: string;
  driver?: string | undefined;
  subnets?: readonly string[] | undefined;
  gateways?: readonly string[] | undefined;
  ipRanges?: readonly string[] | undefined;
  ipv6?: boolean | undefined;
  /** False: an IPv6-only network (nerdctl's --ipv4=false); default true. */
  ipv4?: boolean | undefined;
  internal?: boolean | undefined;
  /** `--aux-address name=IP`: addresses host-local must never hand out. */
  auxAddresses?: readonly string[] | undefined;
  /** `--ipam-opt key=JSON` (dhcp only, as nerdctl): extra `provide`/`request` options of the dhcp IPAM. */
  ipamOptions?: readonly string[] | undefined;
  /** `key=value` (or `key`, meaning an empty value). */
  labels?: readonly string[] | undefined;
  /** `-o key=value`. */
  options?: readonly string[] | undefined;
  ipamDriver?: string | undefined;
  /** `--disable-dns` (Podman's flag): no embedded resolver on this network. */
  disableDns?: boolean | undefined;
}

export interface DriverOptions {
  mtu: number | undefined;
  ipMasq: boolean;
  /** False isolates containers of the network from each other (firewall ingressPolicy "isolated"). */
  icc: boolean;
  parent: string;
  mode: string | undefined;
}

export interface SubnetRequest {
  subnet: Cidr;
  gateway: Ip;
  ipRange: Cidr | undefined;
}

/** A dhcp IPAM option from --ipam-opt, as the dhcp plugin reads it. */
export type DhcpOption =
  | { kind: 'provide'; option: string; value?: string | undefined; fromArg?: string | undefined }
  | { kind: 'request'; option: string; skipDefault?: boolean | undefined };

export interface NetworkSpec {
  name: string;
  driver: Driver;
  ipamDriver: IpamDriver;
  ipv6: boolean;
  /** False for an IPv6-only network: no automatic IPv4 subnet, route ::/0. */
  ipv4?: boolean | undefined;
  /** Reserved addresses (name → IP), kept out of the host-local ranges. */
  auxAddresses?: Record<string, string> | undefined;
  dhcpOptions?: DhcpOption[] | undefined;
  internal: boolean;
  labels: Record<string, string>;
  options: DriverOptions;
  /** The user's subnets, in the order given; empty means "pick one". */
  subnets: SubnetRequest[];
}

export function parseCreateInput(input: CreateNetworkInput): NetworkSpec {
  validateNetworkName(input.name);
  const driver = input.driver ?? 'bridge';
  if (!(DRIVERS as readonly string[]).includes(driver)) throw invalid(`unsupported cni driver ${quote(driver)}`);
  const ipamDriver = parseIpamDriver(input.ipamDriver ?? 'default');
  const ipv6 = input.ipv6 ?? false;
  const ipv4 = input.ipv4 ?? true;
  if (!ipv4 && !ipv6) throw invalid('IPv4 or IPv6 must be enabled');
  const internal = input.internal ?? false;
  const options = parseDriverOptions(driver as Driver, input.options ?? [], internal, ipv6);
  const subnets = parseSubnets(input, ipv6, ipamDriver);
  if (!ipv4) {
    const v4 = subnets.find((s) => s.subnet.family === 4);
    if (v4) throw invalid(`IPv4 subnet "${v4.subnet.input}" given with --ipv4=false`);
  }
  const auxAddresses = parseAuxAddresses(input.auxAddresses ?? [], subnets, ipamDriver);
  const dhcpOptions = parseIpamOptions(input.ipamOptions ?? [], ipamDriver);
  return {
    name: input.name,
    driver: driver as Driver,
    ipamDriver,
    ipv6,
    ...(ipv4 ? {} : { ipv4 }),
    ...(Object.keys(auxAddresses).length > 0 ? { auxAddresses } : {}),
    ...(dhcpOptions.length > 0 ? { dhcpOptions } : {}),
    internal,
    labels: { ...parseLabels(input.labels ?? []), ...(input.disableDns ? { [DNS_LABEL]: 'false' } : {}) },
    options,
    subnets,
  };
}

function parseIpamDriver(value: string): IpamDriver {
  if (!(IPAM_DRIVERS as readonly string[]).includes(value)) throw invalid(`unsupported ipam driver ${quote(value)}`);
  return value === 'dhcp' ? 'dhcp' : 'host-local';
}

function splitKeyValue(entry: string): [string, string] {
  const i = entry.indexOf('=');
  return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
}

function parseLabels(entries: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of entries) {
    const [key, value] = splitKeyValue(entry);
    if (key === '') throw invalid(`invalid label ${quote(entry)}: empty key`);
    assertNoControlCharacters('label', entry);
    // nerdctl/default-network would make this network the one `--net bridge` means, for good.
    if (isReservedLabelKey(key)) throw invalid(`label ${quote(key)} is reserved: keys under nerdctl/ and tsnerd/ are set by the tools`);
    labels[key] = value;
  }
  return labels;
}

type OptionKey = 'mtu' | 'ip-masq' | 'icc' | 'parent' | 'mode';

const MTU_KEYS = { mtu: 'mtu', 'com.docker.network.driver.mtu': 'mtu' } as const;

/** Accepted `-o` keys per driver (Docker's long names included) and what they mean. */
const OPTION_KEYS: Record<Driver, Record<string, OptionKey>> = {
  bridge: {
    ...MTU_KEYS,
    'ip-masq': 'ip-masq',
    'com.docker.network.bridge.enable_ip_masquerade': 'ip-masq',
    icc: 'icc',
    'com.docker.network.bridge.enable_icc': 'icc',
  },
  macvlan: { ...MTU_KEYS, parent: 'parent', mode: 'mode', macvlan_mode: 'mode' },
  ipvlan: { ...MTU_KEYS, parent: 'parent', mode: 'mode', ipvlan_mode: 'mode' },
};

const MODES: Record<Driver, readonly string[]> = { bridge: [], macvlan: ['bridge'], ipvlan: ['l2', 'l3'] };

function parseDriverOptions(driver: Driver, entries: readonly string[], internal: boolean, ipv6: boolean): DriverOptions {
  const options: DriverOptions = { mtu: undefined, ipMasq: !internal, icc: true, parent: '', mode: undefined };
  for (const entry of entries) {
    const [rawKey, value] = splitKeyValue(entry);
    const key = Object.hasOwn(OPTION_KEYS[driver], rawKey) ? OPTION_KEYS[driver][rawKey] : undefined;
    switch (key) {
      case undefined:
        throw invalid(`unsupported "${driver}" network option ${quote(rawKey)}`);
      case 'mtu':
        options.mtu = parseMtu(value, ipv6);
        break;
      case 'ip-masq':
        options.ipMasq = parseBool(rawKey, value) && !internal;
        break;
      case 'icc':
        options.icc = parseBool(rawKey, value);
        break;
      case 'parent':
        validateInterfaceName(value);
        options.parent = value;
        break;
      case 'mode':
        if (!MODES[driver].includes(value)) throw invalid(`unknown ${driver} mode ${quote(value)}`);
        options.mode = value;
        break;
    }
  }
  // nerdctl lets the plugin fall back to the default-route interface; an explicit parent avoids surprises.
  if (driver !== 'bridge' && options.parent === '') {
    throw invalid(`${driver} network needs a parent interface: -o parent=<interface>`);
  }
  return options;
}

/** The kernel's bounds for a link's MTU: IPv4 needs 68 (RFC 791), IPv6 1280 (RFC 8200); ETH_MAX_MTU is 65535. */
export const MTU_BOUNDS = { min4: 68, min6: 1280, max: 65535 } as const;

function parseMtu(value: string, ipv6: boolean): number {
  if (!/^\d+$/.test(value)) throw invalid(`invalid mtu ${quote(value)}: must be a positive integer`);
  const mtu = Number(value);
  const min = ipv6 ? MTU_BOUNDS.min6 : MTU_BOUNDS.min4;
  if (mtu < min || mtu > MTU_BOUNDS.max) {
    throw invalid(`invalid mtu ${quote(value)}: must be between ${min} and ${MTU_BOUNDS.max}${ipv6 ? ' on an IPv6 network' : ''}`);
  }
  return mtu;
}

/** A Linux interface name: 1 to 15 bytes, no "/", ":" or whitespace (the kernel's dev_valid_name). */
function validateInterfaceName(value: string): void {
  if (value === '' || value === '.' || value === '..' || Buffer.byteLength(value) > 15 || /[/:\s]/.test(value) || hasControl(value)) {
    throw invalid(`invalid parent interface ${quote(value)}: not a valid interface name`);
  }
}

/** The spellings Go's strconv.ParseBool accepts, so `-o` values behave as in nerdctl. */
function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw invalid(`invalid value ${quote(value)} for network option ${quote(key)}: must be true or false`);
}

/**
 * `--bridge-ip 10.1.100.1/24` (nerdctl's global flag): the address is the default network's
 * gateway, its network the subnet; checked as `--subnet`/`--gateway` are. IPv4 only, as the
 * default network.
 */
export function parseBridgeIp(text: string): SubnetRequest {
  const cidr = parseCidr(text);
  const address = text.split('/')[0]!;
  try {
    if (!cidr || cidr.family !== 4) throw invalid('not an IPv4 address with a prefix length, e.g. 10.1.100.1/24');
    return parseSubnets({ name: '', subnets: [cidr.text], gateways: [address] }, false, 'host-local')[0]!;
  } catch (err) {
    throw err instanceof TsnerdError ? invalid(`invalid --bridge-ip ${quote(text)}: ${err.message}`) : err;
  }
}

function parseSubnets(input: CreateNetworkInput, ipv6: boolean, ipamDriver: IpamDriver): SubnetRequest[] {
  const subnetTexts = input.subnets ?? [];
  const gatewayTexts = input.gateways ?? [];
  const rangeTexts = input.ipRanges ?? [];
  if (subnetTexts.length === 0 && (gatewayTexts.length > 0 || rangeTexts.length > 0)) {
    throw invalid('cannot set gateway or ip-range without subnet, specify --subnet manually');
  }
  if (ipamDriver === 'dhcp' && subnetTexts.length > 0) {
    throw invalid('--subnet, --gateway and --ip-range cannot be used with --ipam-driver dhcp');
  }
  const subnets = subnetTexts.map((text) => parseSubnet(text, ipv6));
  for (const [i, a] of subnets.entries()) {
    const clash = subnets.slice(0, i).find((b) => overlaps(a, b));
    if (clash) throw invalid(`subnet ${a.text} overlaps with other one on this address space`);
  }
  const gateways = new Map<Cidr, Ip>();
  for (const text of gatewayTexts) {
    const ip = parseIp(text);
    if (!ip) throw invalid(`invalid gateway ${quote(text)}: not an IP address`);
    const subnet = subnets.find((s) => containsIp(s, ip));
    if (!subnet) throw invalid(`no matching subnet for gateway ${quote(text)}`);
    if (gateways.has(subnet)) throw invalid(`more than one gateway for subnet "${subnet.text}"`);
    if (ip.isEquals(subnet.range.getFirst() as never) || ip.isEquals(lastAddress(subnet) as never)) {
      throw invalid(`gateway ${quote(text)} is the network or broadcast address of subnet "${subnet.text}"`);
    }
    gateways.set(subnet, ip);
  }
  const ranges = new Map<Cidr, Cidr>();
  for (const text of rangeTexts) {
    const range = parseCidr(text);
    if (!range) throw invalid(`invalid ip-range ${quote(text)}: not a CIDR`);
    if (!range.canonical) throw invalid(`unexpected ip-range ${quote(text)}, maybe you meant "${range.text}"?`);
    const subnet = subnets.find((s) => s.family === range.family && range.range.inside(s.range as never));
    if (!subnet) throw invalid(`no matching subnet for ip-range ${quote(text)}`);
    if (ranges.has(subnet)) throw invalid(`more than one ip-range for subnet "${subnet.text}"`);
    ranges.set(subnet, range);
  }
  return subnets.map((subnet) => ({
    subnet,
    gateway: gateways.get(subnet) ?? firstHost(subnet),
    ipRange: ranges.get(subnet),
  }));
}

/** Smallest usable: network, gateway, one container, broadcast. */
const MAX_PREFIX: Record<4 | 6, number> = { 4: 30, 6: 126 };

function parseSubnet(text: string, ipv6: boolean): Cidr {
  const subnet = parseCidr(text);
  if (!subnet) throw invalid(`invalid subnet ${quote(text)}: not a CIDR`);
  if (!subnet.canonical) throw invalid(`unexpected subnet ${quote(text)}, maybe you meant "${subnet.text}"?`);
  if (subnet.family === 6 && !ipv6) throw invalid(`IPv6 subnet ${quote(text)} needs --ipv6`);
  if (subnet.prefix > MAX_PREFIX[subnet.family]) {
    throw invalid(`subnet ${quote(text)} is too small: the prefix must be /${MAX_PREFIX[subnet.family]} or shorter`);
  }
  const special = specialRangeOf(subnet);
  if (special) throw invalid(`invalid subnet ${quote(text)}: overlaps the ${special.what} range ${special.cidr}`);
  return subnet;
}

/**
 * `--aux-address name=IP`: each IP must lie in one of the subnets, not be its
 * network, broadcast or gateway address, and appear once; names are unique.
 */
function parseAuxAddresses(entries: readonly string[], subnets: readonly SubnetRequest[], ipamDriver: IpamDriver): Record<string, string> {
  const out: Record<string, string> = {};
  if (entries.length === 0) return out;
  if (ipamDriver === 'dhcp') throw invalid('--aux-address cannot be used with --ipam-driver dhcp');
  if (subnets.length === 0) throw invalid('--aux-address needs --subnet');
  const seen = new Set<string>();
  for (const entry of entries) {
    const [name, text] = splitKeyValue(entry);
    if (name === '' || !entry.includes('=')) throw invalid(`invalid --aux-address "${entry}": expected name=IP`);
    const ip = parseIp(text);
    if (!ip) throw invalid(`invalid --aux-address "${entry}": "${text}" is not an IP address`);
    const s = subnets.find((r) => containsIp(r.subnet, ip));
    if (!s) throw invalid(`no matching subnet for aux-address "${text}"`);
    if (ip.isEquals(s.subnet.range.getFirst() as never) || ip.isEquals(lastAddress(s.subnet) as never)) {
      throw invalid(`aux-address "${text}" is the network or broadcast address of subnet "${s.subnet.text}"`);
    }
    if (ip.isEquals(s.gateway as never)) throw invalid(`aux-address "${text}" is the gateway of subnet "${s.subnet.text}"`);
    const canonical = formatIp(ip);
    if (Object.hasOwn(out, name)) throw invalid(`aux-address name "${name}" given twice`);
    if (seen.has(canonical)) throw invalid(`aux-address "${text}" given twice`);
    seen.add(canonical);
    out[name] = canonical;
  }
  return out;
}

/**
 * `--ipam-opt option=JSON`, nerdctl's form: only with the dhcp driver, the
 * value `{"type":"provide","value":"...","fromArg":"..."}` or
 * `{"type":"request","skipDefault":true|false}`.
 */
function parseIpamOptions(entries: readonly string[], ipamDriver: IpamDriver): DhcpOption[] {
  if (entries.length === 0) return [];
  if (ipamDriver !== 'dhcp') throw invalid('--ipam-opt is only supported with --ipam-driver dhcp');
  return entries.map((entry) => {
    const [option, text] = splitKeyValue(entry);
    if (option === '' || !entry.includes('=')) throw invalid(`invalid --ipam-opt "${entry}": expected option=JSON`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalid(`invalid --ipam-opt "${entry}": the value is not JSON`);
    }
    const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const str = (k: string): string | undefined => {
      if (v[k] === undefined) return undefined;
      if (typeof v[k] !== 'string') throw invalid(`invalid --ipam-opt "${entry}": "${k}" must be a string`);
      return v[k];
    };
    if (v['type'] === 'provide') {
      const extra = Object.keys(v).filter((k) => !['type', 'value', 'fromArg'].includes(k));
      if (extra.length > 0) throw invalid(`invalid --ipam-opt "${entry}": unknown key "${extra[0]}"`);
      return { kind: 'provide', option, value: str('value'), fromArg: str('fromArg') };
    }
    if (v['type'] === 'request') {
      const extra = Object.keys(v).filter((k) => !['type', 'skipDefault'].includes(k));
      if (extra.length > 0) throw invalid(`invalid --ipam-opt "${entry}": unknown key "${extra[0]}"`);
      if (v['skipDefault'] !== undefined && typeof v['skipDefault'] !== 'boolean') {
        throw invalid(`invalid --ipam-opt "${entry}": "skipDefault" must be true or false`);
      }
      return { kind: 'request', option, skipDefault: v['skipDefault'] as boolean | undefined };
    }
    throw invalid(`invalid --ipam-opt "${entry}": "type" must be "provide" or "request"`);
  });
}
