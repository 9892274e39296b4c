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
}

export const BEGIN_MARKER = '# <nerdctl>';
export const END_MARKER = '# </nerdctl>';

const LOCALHOST_LINES = ['127.0.0.1\tlocalhost localhost.localdomain', '::1\t\tlocalhost localhost.localdomain'];

/**
 * Rewrites `current` (the container's hosts file) for `me`, given the metas of
 * every running container in the namespace (`all` may include `me`).
 */
export function renderHostsFile(current: string, me: HostsMeta, all: readonly HostsMeta[]): string {
  const kept = userLines(current);
  const block = [BEGIN_MARKER, ...LOCALHOST_LINES];
  for (const [host, ip] of Object.entries(me.ExtraHosts ?? {})) block.push(hostsLine(ip, [host]));
  for (const { ip, names } of peerEntries(me, all)) block.push(hostsLine(ip, names));
  block.push(END_MARKER);
  return [...kept, ...block].join('\n') + '\n';
}

/** Lines the user added outside the managed block (blank lines, comments and localhost lines dropped). */
function userLines(current: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const raw of current.split('\n')) {
    const line = raw.replaceAll('\t', ' ').trim();
    if (line === BEGIN_MARKER) { inBlock = true; continue; }
    if (line === END_MARKER) { inBlock = false; continue; }
    if (inBlock || line === '' || line.startsWith('#')) continue;
    const addr = line.split(/\s+/)[0];
    if (addr === '127.0.0.1' || addr === '::1') continue;
    out.push(raw);
  }
  return out;
}

interface PeerEntry { ip: string; names: string[] }

/** One entry per IP of every container that shares at least one network with `me`. */
export function peerEntries(me: HostsMeta, all: readonly HostsMeta[]): PeerEntry[] {
  const myNets = new Set(Object.keys(me.Networks ?? {}));
  const entries: PeerEntry[] = [];
  // Own entry first, then the others in a stable order so rewrites are deterministic.
  const ordered = [me, ...all.filter((m) => m.ID !== me.ID).sort((a, b) => a.ID.localeCompare(b.ID))];
  for (const peer of ordered) {
    for (const [net, result] of Object.entries(peer.Networks ?? {})) {
      if (!myNets.has(net)) continue;
      for (const { address } of result.ips ?? []) {
        const ip = address.split('/')[0] ?? '';
        if (ip === '' || isLoopbackOrUnspecified(ip)) continue;
        entries.push({ ip, names: namesFor(peer, net) });
      }
    }
  }
  return entries;
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
  return [...new Set(names)];
}

function hostsLine(ip: string, names: string[]): string {
  return `${ip.padEnd(15)} ${names.join(' ')}`;
}

function isLoopbackOrUnspecified(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === '0.0.0.0' || ip === '::';
}
