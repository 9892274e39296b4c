/**
 * resolv.conf for a container, by nerdctl's rules: each part (nameservers,
 * search, options) comes from the user's flags, else the config file's
 * globals, else the host; localhost resolvers cannot work from inside a
 * network namespace, so they are dropped except on host networking.
 */
import { isIPv4 } from 'node:net';

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export type ResolvMode = 'cni' | 'none' | 'host';

const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4', '2001:4860:4860::8888', '2001:4860:4860::8844'];

export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.split(/[#;]/)[0]!.trim();
    const [key, ...values] = line.split(/\s+/);
    if (key === 'nameserver' && values[0]) conf.nameservers.push(values[0]);
    else if (key === 'search' || key === 'domain') conf.search = values;
    else if (key === 'options') conf.options.push(...values);
  }
  return conf;
}

/** Partial sources: an undefined or empty part falls through to the next source. */
export type ResolvSource = Partial<ResolvConf>;

export function buildResolvConf(mode: ResolvMode, sources: readonly ResolvSource[]): ResolvConf {
  const pick = (key: keyof ResolvConf): string[] => sources.map((s) => s[key]).find((v) => v !== undefined && v.length > 0) ?? [];
  let nameservers = pick('nameservers');
  if (mode !== 'host') {
    nameservers = nameservers.filter((ns) => !isLocalhost(ns));
    if (nameservers.length === 0) nameservers = [...FALLBACK_NAMESERVERS];
    if (mode === 'cni') nameservers = nameservers.filter((ns) => isIPv4(ns));
  }
  const search = pick('search').filter((s) => s !== '.');
  return { nameservers, search, options: pick('options') };
}

export function renderResolvConf(conf: ResolvConf): string {
  let out = '';
  if (conf.search.length > 0) out += `search ${conf.search.join(' ')}\n`;
  for (const ns of conf.nameservers) out += `nameserver ${ns}\n`;
  if (conf.options.length > 0) out += `options ${conf.options.join(' ')}\n`;
  return out;
}

/** The cheap test first: node's IPv6 pattern costs ~1.5 ms to compile on a CLI's first use. */
function isLocalhost(ip: string): boolean {
  return ip === '::1' || (ip.startsWith('127.') && isIPv4(ip));
}

/**
 * Options of a resolv.conf naming the embedded resolver: Docker adds `ndots:0`
 * (every name is first asked as written, so `b` reaches the resolver as `b`
 * before any search domain) unless the user chose an ndots.
 */
export function withEmbeddedOptions(options: readonly string[]): string[] {
  return options.some((o) => o.startsWith('ndots:')) ? [...options] : [...options, 'ndots:0'];
}
