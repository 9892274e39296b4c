/**
 * A baseline of the host state one e2e env can change, and a diff between two
 * baselines: take one before a fault, one after the cleanup, and expect no
 * difference. Everything is scoped to what the env owns (its containerd
 * namespace, its networks and their bridges, a host port range, its data root),
 * because other test files run beside it on the same machine and share the
 * kernel, /var/lib/cni and iptables.
 *
 *   const before = await snapshotHostState(env, { networks: ['gc-a'], ports: [39100, 39199] });
 *   ... fault, recovery ...
 *   assertSameHostState(before, await snapshotHostState(env, scope));
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { ctr, type TestEnv } from './harness.ts';

const CNI_STATE = '/var/lib/cni';

export interface HostStateScope {
  /** Network names whose bridges, veths, host-local files, cache entries and rules are compared (default: all in the env's conf dir). */
  networks?: readonly string[];
  /** Host port range [first, last] whose listening sockets are compared. */
  ports?: readonly [number, number];
}

/** One sorted list of lines per kind of state. */
export type HostState = Record<HostStateKind, string[]>;

export type HostStateKind =
  | 'bridges'
  | 'veths'
  | 'iptables-rules'
  | 'iptables-chains'
  | 'host-local'
  | 'cni-cache'
  | 'listening'
  | 'hosts-lines'
  | 'data-store'
  | 'containerd';

export async function snapshotHostState(env: TestEnv, scope: HostStateScope = {}): Promise<HostState> {
  const networks = await networksOf(env, scope.networks);
  const bridges = [...new Set(networks.flatMap((n) => n.bridges))];
  const cniPrefix = `${env.namespace}-`;
  const [links, iptables, hostLocal, cache, listening, hostsLines, dataStore, containerd] = await Promise.all([
    linksOf(bridges),
    iptablesOf(
      cniPrefix,
      networks.map((n) => n.name),
      bridges,
    ),
    hostLocalOf(networks.map((n) => n.name)),
    cacheOf(cniPrefix),
    listeningOn(scope.ports),
    hostsLinesOf(env.dataRoot),
    dataStoreOf(env.dataRoot),
    containerdOf(env),
  ]);
  return {
    bridges: links.bridges,
    veths: links.veths,
    'iptables-rules': iptables.rules,
    'iptables-chains': iptables.chains,
    'host-local': hostLocal,
    'cni-cache': cache,
    listening,
    'hosts-lines': hostsLines,
    'data-store': dataStore,
    containerd,
  };
}

/** Lines `<kind>: + line` (only in `after`) and `<kind>: - line` (only in `before`). */
export function diffHostState(before: HostState, after: HostState): string[] {
  const out: string[] = [];
  for (const kind of Object.keys(before) as HostStateKind[]) {
    const a = new Set(before[kind]);
    const b = new Set(after[kind]);
    for (const line of before[kind]) if (!b.has(line)) out.push(`${kind}: - ${line}`);
    for (const line of after[kind]) if (!a.has(line)) out.push(`${kind}: + ${line}`);
  }
  return out;
}

export function assertSameHostState(before: HostState, after: HostState, message = 'host state differs from the baseline'): void {
  const diff = diffHostState(before, after);
  assert.deepEqual(diff, [], `${message}:\n${diff.join('\n')}`);
}

/**
 * Polls until the state equals `before` (processes exit and sockets close
 * asynchronously) or the deadline passes; returns the last difference.
 */
export async function waitForHostState(env: TestEnv, scope: HostStateScope, before: HostState, timeoutMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const diff = diffHostState(before, await snapshotHostState(env, scope));
    if (diff.length === 0 || Date.now() > deadline) return diff;
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface NetworkConf {
  name: string;
  bridges: string[];
}

async function networksOf(env: TestEnv, only: readonly string[] | undefined): Promise<NetworkConf[]> {
  const entries = await readdir(env.netconfPath, { recursive: true }).catch(() => [] as string[]);
  const confs: NetworkConf[] = [];
  for (const entry of entries.filter((e) => /\.(conflist|conf|json)$/.test(e))) {
    try {
      const conf = JSON.parse(await readFile(join(env.netconfPath, entry), 'utf8')) as { name?: string; plugins?: unknown[] } & Record<
        string,
        unknown
      >;
      const plugins = (conf.plugins ?? [conf]) as Record<string, unknown>[];
      const bridges = plugins.filter((p) => p['type'] === 'bridge').map((p) => (typeof p['bridge'] === 'string' ? p['bridge'] : 'cni0'));
      if (typeof conf.name === 'string') confs.push({ name: conf.name, bridges });
    } catch {
      /* not a network config */
    }
  }
  // A network named in the scope but removed (or not created yet) still names its host-local dir.
  for (const name of only ?? []) if (!confs.some((c) => c.name === name)) confs.push({ name, bridges: [] });
  return only ? confs.filter((c) => only.includes(c.name)) : confs;
}

/** The env's bridges that exist, and the veths enslaved to them. */
async function linksOf(bridges: readonly string[]): Promise<{ bridges: string[]; veths: string[] }> {
  const listed = await execa('ip', ['-j', 'link', 'show'], { reject: false });
  const links = JSON.parse(String(listed.stdout) || '[]') as { ifname: string; master?: string; link_type?: string; operstate?: string }[];
  return {
    bridges: links
      .filter((l) => bridges.includes(l.ifname))
      .map((l) => l.ifname)
      .sort(),
    veths: links
      .filter((l) => l.master !== undefined && bridges.includes(l.master))
      .map((l) => `${l.master} ${l.ifname}`)
      .sort(),
  };
}

/**
 * Rules that name one of the env's CNI container IDs or networks (the plugins'
 * comments say `name: "<net>" id: "<ns>-<id>"`), tsnerd's DNS rules of its bridges
 * (`-i <bridge>`, comment `tsnerd-dns`), and the CNI-* chains that hold such rules
 * or that such a rule jumps to.
 */
async function iptablesOf(
  cniPrefix: string,
  networks: readonly string[],
  bridges: readonly string[],
): Promise<{ rules: string[]; chains: string[] }> {
  const rules: string[] = [];
  const chains: string[] = [];
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of ['nat', 'filter', 'mangle']) {
      const listed = await execa(tool, ['-w', '-t', table, '-S'], { reject: false });
      if (listed.exitCode !== 0) continue;
      const lines = String(listed.stdout).split('\n');
      const ours = lines.filter(
        (l) =>
          l.startsWith('-A ') &&
          (l.includes(`id: \\"${cniPrefix}`) ||
            networks.some((n) => l.includes(`name: \\"${n}\\"`)) ||
            (l.includes('--comment tsnerd-dns ') && bridges.some((b) => l.includes(` -i ${b} `)))),
      );
      for (const r of ours) rules.push(`${tool} ${table} ${r}`);
      const named = new Set<string>();
      for (const r of ours) {
        const chain = r.split(' ')[1] ?? '';
        const target = / -[jg] (\S+)/.exec(r)?.[1] ?? '';
        for (const c of [chain, target]) if (c.startsWith('CNI-') && /[0-9a-f]{8}/.test(c)) named.add(c);
      }
      for (const c of named) if (lines.includes(`-N ${c}`)) chains.push(`${tool} ${table} ${c}`);
    }
  }
  return { rules: rules.sort(), chains: chains.sort() };
}

/** host-local's files (`<ip>`, last_reserved_ip.*, lock) of the env's networks, with the owner of each IP. */
async function hostLocalOf(networks: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const net of networks) {
    const dir = join(CNI_STATE, 'networks', net);
    for (const file of await readdir(dir).catch(() => [] as string[])) {
      if (file === 'lock' || file.startsWith('last_reserved_ip')) continue;
      const owner = (await readFile(join(dir, file), 'utf8').catch(() => '')).split(/\r?\n/)[0] ?? '';
      out.push(`${net}/${file} ${owner.trim()}`);
    }
  }
  return out.sort();
}

/** libcni result cache files of the env's containers. */
async function cacheOf(cniPrefix: string): Promise<string[]> {
  const files = await readdir(join(CNI_STATE, 'results')).catch(() => [] as string[]);
  return files.filter((f) => f.includes(`-${cniPrefix}`)).sort();
}

/** Listening TCP sockets and bound UDP sockets on ports in the range. */
async function listeningOn(ports: readonly [number, number] | undefined): Promise<string[]> {
  if (!ports) return [];
  const out: string[] = [];
  for (const [file, proto, listenState] of [
    ['/proc/net/tcp', 'tcp', '0A'],
    ['/proc/net/tcp6', 'tcp6', '0A'],
    ['/proc/net/udp', 'udp', '07'],
    ['/proc/net/udp6', 'udp6', '07'],
  ] as const) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== listenState) continue;
      const [ipHex, portHex] = (f[1] ?? '').split(':');
      const port = Number.parseInt(portHex ?? '', 16);
      if (port >= ports[0] && port <= ports[1]) out.push(`${proto} ${ipHex}:${port}`);
    }
  }
  return [...new Set(out)].sort();
}

/** Every line of every container's hosts file in the data root (`<file>: <line>`). */
async function hostsLinesOf(dataRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const path of await filesUnder(dataRoot)) {
    if (!/\/etchosts\/[^/]+\/[^/]+\/hosts$/.test(path)) continue;
    const text = await readFile(path, 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (line.trim() !== '') out.push(`${relative(dataRoot, path)}: ${line}`);
  }
  return out.sort();
}

/** Per-container dirs and files of the data store (containers/<ns>/<id>, etchosts/<ns>/<id>, names/<ns>/<name> with its owner). */
async function dataStoreOf(dataRoot: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dataRoot, { recursive: true }).catch(() => [] as string[]);
  for (const entry of entries) {
    const parts = entry.split('/');
    // <hash>/<kind>/<ns>, the stores' .lock files and the hosts store's members index exist once used, whatever the containers.
    if (parts.length < 4 || !['containers', 'etchosts', 'names'].includes(parts[1]!) || ['.lock', '.members.json'].includes(parts.at(-1)!))
      continue;
    if (parts[1] === 'names' && parts.length === 4) {
      const owner = await readFile(join(dataRoot, entry), 'utf8').catch(() => '');
      out.push(`${entry} -> ${owner.trim()}`);
    } else {
      out.push(entry);
    }
  }
  return out.sort();
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map((e) => join(dir, e));
}

/** containerd's containers, tasks, snapshots and leases in the env's namespace (empty when containerd is down). */
async function containerdOf(env: TestEnv): Promise<string[]> {
  const out: string[] = [];
  for (const [kind, args] of [
    ['container', ['containers', 'ls', '-q']],
    ['task', ['tasks', 'ls', '-q']],
    ['snapshot', ['snapshots', 'ls']],
    ['lease', ['leases', 'ls', '-q']],
  ] as const) {
    const r = await ctr(env, [...args], { timeoutMs: 10_000 });
    if (r.exitCode !== 0) continue;
    const lines = r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    // `snapshots ls` prints a header and KEY PARENT KIND; the key is enough.
    const keys = kind === 'snapshot' ? lines.slice(1).map((l) => l.split(/\s+/)[0]!) : lines;
    for (const k of keys) out.push(`${kind} ${k}`);
  }
  return out.sort();
}
