/**
 * The container's /etc/hosts: a block between `# <nerdctl>` markers (the same
 * markers as nerdctl, so files stay readable by either tool) that lists every
 * container sharing a network with this one. Lines outside the block are the
 * user's and survive rewrites.
 */
import { DEFAULT_NETWORK_NAME } from '../network/constants.ts';

/** One container's entry in the hosts store (meta.json, nerdctl-compatible keys). */
export interface HostsMeta {
  ID: string;
  /** `--net` string → CNI result; only IP addresses are read here. */
  Networks: Record<string, { ips?: { address: string }[] | undefined }> | null;
  Hostname: string;
  Domainname: string;
  /** host → ip, from --add-host. */
  ExtraHosts: Record<string, string>;
  Name: string;
  /**
   * tsnerd only (nerdctl ignores the key): network-scoped aliases, keyed like
   * `Networks`, from `--network-alias`, `--net NAME,alias=A` and `network
   * connect --alias`. Each alias names the container on that network only.
   */
  Aliases?: Record<string, string[]> | undefined;
}

export const BEGIN_MARKER = '# <nerdctl>';
export const END_MARKER = '# </nerdctl>';

const LOCALHOST_LINES = ['127.0.0.1\tlocalhost localhost.localdomain', '::1\t\tlocalhost localhost.localdomain'];

/**
 * A renderer of hosts files given the metas of every running container in the
 * namespace (`all` may include the container rendered): `(current, me)`
 * rewrites `current`, the file of `me`. The peers are sorted and their lines
 * formatted once, so rewriting every file of n containers costs O(n²) cheap
 * lookups instead of n sorts and n² formatted lines.
 */
export function hostsRenderer(all: readonly HostsMeta[]): (current: string, me: HostsMeta) => string {
  // Own entry first, then the others in a stable order so rewrites are deterministic.
  const sorted = [...all].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
  const cache = new Map<HostsMeta, NetLine[]>();
  const linesOf = (m: HostsMeta): NetLine[] => {
    let lines = cache.get(m);
    if (!lines) cache.set(m, (lines = netLines(m)));
    return lines;
  };
  return (current, me) => {
    const block = [BEGIN_MARKER, ...LOCALHOST_LINES];
    for (const [host, ip] of Object.entries(me.ExtraHosts ?? {})) block.push(hostsLine(ip, [host]));
    const myNets = new Set(Object.keys(me.Networks ?? {}));
    const add = (peer: HostsMeta): void => {
      for (const { net, line } of linesOf(peer)) if (myNets.has(net)) block.push(line);
    };
    add(me);
    for (const peer of sorted) if (peer.ID !== me.ID) add(peer);
    block.push(END_MARKER);
    return [...userLines(current), ...block].join('\n') + '\n';
  };
}

/**
 * The lines a container that joins adds to `peer`'s managed block: one per IP
 * on a network they share (empty when they share none). Inserted before the
 * end marker, they give the same names as a full render, the newcomer last.
 */
export function joinLines(peer: HostsMeta, newcomer: HostsMeta): string[] {
  return joinLinesOf(newcomer)(peer);
}

/** joinLines for one newcomer and many peers: the newcomer's lines are made once. */
export function joinLinesOf(newcomer: HostsMeta): (peer: HostsMeta) => string[] {
  const lines = netLines(newcomer);
  return (peer) => {
    const peerNets = peer.Networks ?? {};
    const out: string[] = [];
    for (const { net, line } of lines) if (Object.hasOwn(peerNets, net)) out.push(line);
    return out;
  };
}

interface NetLine {
  net: string;
  line: string;
}

/** A container's hosts lines, one per IP, with the network each belongs to. */
function netLines(m: HostsMeta): NetLine[] {
  const out: NetLine[] = [];
  for (const [net, result] of Object.entries(m.Networks ?? {})) {
    for (const { address } of result.ips ?? []) {
      const ip = address.split('/')[0] ?? '';
      if (ip === '' || isLoopbackOrUnspecified(ip)) continue;
      out.push({ net, line: hostsLine(ip, namesFor(m, net)) });
    }
  }
  return out;
}

/** Lines the user added outside the managed block (blank lines, comments and localhost lines dropped). */
function userLines(current: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const raw of current.split('\n')) {
    const line = raw.replaceAll('\t', ' ').trim();
    if (line === BEGIN_MARKER) {
      inBlock = true;
      continue;
    }
    if (line === END_MARKER) {
      inBlock = false;
      continue;
    }
    if (inBlock || line === '' || line.startsWith('#')) continue;
    const addr = line.split(/\s+/)[0];
    if (addr === '127.0.0.1' || addr === '::1') continue;
    out.push(raw);
  }
  return out;
}

function namesFor(m: HostsMeta, net: string): string[] {
  const suffix = net === DEFAULT_NETWORK_NAME ? undefined : net;
  const names: string[] = [];
  if (m.Hostname && m.Domainname) names.push(`${m.Hostname}.${m.Domainname}`);
  for (const base of [m.Hostname, m.Name]) {
    if (!base) continue;
    names.push(base);
    if (suffix) names.push(`${base}.${suffix}`);
  }
  for (const alias of m.Aliases?.[net] ?? []) names.push(alias);
  return [...new Set(names)];
}

function hostsLine(ip: string, names: string[]): string {
  return `${ip.padEnd(15)} ${names.join(' ')}`;
}

function isLoopbackOrUnspecified(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === '0.0.0.0' || ip === '::';
}

/**
 * The hosts file with the lines for `leaving`'s addresses taken out of the
 * managed block: for a peer whose meta cannot be read, so its file cannot be
 * re-rendered, but must not keep resolving a container that left.
 */
export function withoutContainer(current: string, leaving: HostsMeta): string {
  const ips = new Set(Object.values(leaving.Networks ?? {}).flatMap((r) => (r.ips ?? []).map((ip) => ip.address.split('/')[0]!)));
  if (ips.size === 0) return current;
  let inBlock = false;
  const kept: string[] = [];
  for (const line of current.split('\n')) {
    if (line === BEGIN_MARKER) inBlock = true;
    else if (line === END_MARKER) inBlock = false;
    else if (inBlock && ips.has(line.split(/\s+/)[0] ?? '')) continue;
    kept.push(line);
  }
  return kept.join('\n');
}

/**
 * `current` with `lines` (what a join inserted: joinLines) taken out of the managed block,
 * each once; undefined when one of them is not there (a file written otherwise, e.g. by
 * nerdctl): the caller renders it whole then. Lines are matched whole, so a peer that has
 * since taken a leaving container's address keeps its own line.
 */
export function withoutLines(current: string, lines: readonly string[]): string | undefined {
  if (lines.length === 0) return current;
  const pending = new Map<string, number>();
  for (const line of lines) pending.set(line, (pending.get(line) ?? 0) + 1);
  let inBlock = false;
  let left = lines.length;
  const kept: string[] = [];
  for (const line of current.split('\n')) {
    if (line === BEGIN_MARKER) inBlock = true;
    else if (line === END_MARKER) inBlock = false;
    else if (inBlock && left > 0) {
      const n = pending.get(line);
      if (n !== undefined && n > 0) {
        pending.set(line, n - 1);
        left--;
        continue;
      }
    }
    kept.push(line);
  }
  return left === 0 ? kept.join('\n') : undefined;
}
