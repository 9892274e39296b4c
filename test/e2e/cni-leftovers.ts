/**
 * What a test env left on the host for its own containers and networks: iptables rules
 * naming one of its CNI container IDs (`<ns>-<id>`), host-local IP allocations and libcni
 * cache entries owned by one, the per-container chains the plugins name after a hash of
 * (network, CNI ID) of one (found by name: an empty one has no rule), and bridges of the networks it defined. The harness's stop() reports
 * each one by name as a failure of the test file, then removes it so the next file
 * starts clean. Only objects that belong to the env are looked at: other test runs on
 * this machine own everything else (the default network's `nerdctl0` included).
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { BlockList, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { isolationRuleBridge } from '../../src/domain/netfilter/isolation.ts';

const CNI_STATE = '/var/lib/cni';
/** Per-container chains the plugins name after a hash (bridge ipMasq, portmap DNAT/SNAT). */
const HASH_CHAIN = /^CNI-(?:DN-|SN-)?[0-9a-f]+$/;
/** host-local's files that are not allocations. */
const HOST_LOCAL_BOOKKEEPING = /^(lock|last_reserved_ip\..*)$/;
/** nerdctl's label on the default network, whose bridge (nerdctl0) all users share. */
const DEFAULT_NETWORK_LABEL = 'nerdctl/default-network';

/** What belongs to one env. */
export interface EnvObjects {
  /** Exact CNI container IDs (`<ns>-<id>`) of its containers. */
  cniIds: readonly string[];
  /** Namespaces only this env uses: any `<ns>-<64 hex>` ID in them is the env's, even one it forgot. */
  ownNamespaces: readonly string[];
  /** Its CNI conf dir (networks defined there are its own, except the shared default network). */
  netconfPath: string;
  /** The network namespace (under /run/netns) its containerd ran in, for its rules and bridges; undefined: the caller's. */
  netns?: string | undefined;
  /**
   * The bridges of every network the env had (its conflists', as seen after each command): an
   * isolation rule of the firewall plugin for one of them that is gone is the env's (no DEL
   * removes them; `network rm` must). Undefined: not looked at.
   */
  bridgesSeen?: readonly string[] | undefined;
  /**
   * The names of every network the env had (its conflists', as seen after each command; the
   * default network `bridge` is added): with `cniIds`, the per-container chains the plugins name
   * after a hash of (network, CNI ID). An empty one has no rule, hence no comment naming its
   * container: only its name tells whose it is. Undefined: not looked at.
   */
  networkNamesSeen?: readonly string[] | undefined;
  /**
   * The subnets of every network the env had but the shared default one (its conflists', as seen
   * after each command): the firewall plugin's per-address rules in CNI-FORWARD of an address in
   * one of them are the env's (they name no container: a DEL that failed, or an ADD that doubled a
   * stale one, leaves them). Undefined: not looked at.
   */
  subnetsSeen?: readonly string[] | undefined;
}

export interface Leftovers {
  /** One line per object, naming it. */
  found: string[];
  /** Removes what was found. */
  remove(): Promise<void>;
}

export interface NetworkConf {
  name: string;
  bridges: string[];
  isDefault: boolean;
  /** The subnets of its IPAM (ranges or subnet). */
  subnets: string[];
  /** host-local's dataDir, when the conf sets one. */
  ipamDataDir?: string;
}

export async function findCniLeftovers(owned: EnvObjects): Promise<Leftovers> {
  const exec: Exec = (cmd, args, input) => {
    const [c, a] = owned.netns === undefined ? [cmd, args] : ['nsenter', [`--net=/run/netns/${owned.netns}`, '--', cmd, ...args]];
    return execa(c, a, { reject: false, ...(input === undefined ? {} : { input }) });
  };
  const ids = new Set(owned.cniIds);
  const nsPattern = owned.ownNamespaces
    .filter((ns) => ns !== '')
    .map(escapeRegExp)
    .join('|');
  const idRe = nsPattern === '' ? undefined : new RegExp(`^(?:${nsPattern})-[0-9a-f]{64}$`);
  const isOurs = (id: string) => ids.has(id) || (idRe?.test(id) ?? false);

  const networks = await networksIn(owned.netconfPath);
  const found: string[] = [];
  const removers: (() => Promise<void>)[] = [];
  const chainRemovers: (() => Promise<void>)[] = [];
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of ['nat', 'filter', 'mangle', 'raw']) {
      const rules = await findRules(exec, tool, table, isOurs);
      if (rules.ours.length === 0) continue;
      found.push(...rules.ours.map((r) => `${tool} -t ${table} rule: ${r}`));
      removers.push(() => removeRules(exec, tool, table, rules.ours, rules.all));
    }
  }
  if (owned.networkNamesSeen) {
    const names = new Set([...owned.networkNamesSeen, 'bridge']);
    for (const tool of ['iptables', 'ip6tables']) {
      const chains = await hashChainsOf(exec, tool, names, owned.cniIds);
      found.push(...chains.map((c) => `${tool} -t nat chain ${c.chain} of container ${c.cniId} on network ${c.network}`));
      // after the rules' removers: their chains may be gone by then (a failed -X is harmless)
      if (chains.length > 0)
        chainRemovers.push(async () => {
          for (const c of chains) await restoreNat(exec, tool, [`-F ${c.chain}`, `-X ${c.chain}`]);
        });
    }
  }
  const dataDirs = new Set([join(CNI_STATE, 'networks'), ...networks.flatMap((n) => (n.ipamDataDir ? [n.ipamDataDir] : []))]);
  for (const file of await findAllocations([...dataDirs], isOurs)) {
    found.push(`IP allocation: ${file.path} (owner ${file.owner || 'unknown'})`);
    removers.push(() => rm(file.path, { force: true }));
  }
  for (const file of await findCachedResults(isOurs)) {
    found.push(`CNI cache entry: ${file}`);
    removers.push(() => rm(file, { force: true }));
  }
  if (owned.bridgesSeen) {
    const seen = new Set(owned.bridgesSeen);
    for (const tool of ['iptables', 'ip6tables']) {
      const rules = await isolationRules(exec, tool);
      for (const bridge of [...new Set(rules.map((r) => r.bridge))].filter((b) => seen.has(b))) {
        if ((await bridgePorts(exec, bridge)) !== undefined) continue;
        const doomed = rules.filter((r) => r.bridge === bridge).map((r) => r.rule);
        found.push(...doomed.map((r) => `${tool} -t filter isolation rule of the removed bridge ${bridge}: ${r}`));
        removers.push(async () => {
          for (const r of doomed) await deleteFilterRule(exec, tool, r);
        });
      }
    }
  }
  if (owned.bridgesSeen) {
    // tsnerd's DNS rules of the env's bridges (they go with the bridge: network rm, or the rollback of
    // the start that made them), whether the bridge is still there or not.
    const seen = new Set(owned.bridgesSeen);
    for (const tool of ['iptables', 'ip6tables']) {
      for (const table of ['filter', 'nat'] as const) {
        const doomed = (await dnsRules(exec, tool, table)).filter((r) => seen.has(r.bridge)).map((r) => r.rule);
        found.push(...doomed.map((r) => `${tool} -t ${table} DNS rule: ${r}`));
        removers.push(async () => {
          for (const r of doomed) await deleteFilterRule(exec, tool, r, table);
        });
      }
    }
  }
  if (owned.subnetsSeen && owned.subnetsSeen.length > 0) {
    const subnets = subnetList(owned.subnetsSeen);
    for (const tool of ['iptables', 'ip6tables']) {
      const doomed = (await firewallPluginRules(exec, tool)).filter((r) => subnets.check(r.address, isIPv6(r.address) ? 'ipv6' : 'ipv4'));
      found.push(...doomed.map((r) => `${tool} -t filter firewall plugin rule of an address of the env's networks: ${r.rule}`));
      removers.push(async () => {
        for (const r of doomed) await deleteFilterRule(exec, tool, r.rule);
      });
    }
  }
  for (const net of networks.filter((n) => !n.isDefault)) {
    for (const bridge of net.bridges) {
      const ports = await bridgePorts(exec, bridge);
      if (ports === undefined) continue;
      found.push(`bridge: ${bridge} of network ${net.name}${ports.length > 0 ? ` (ports: ${ports.join(', ')})` : ''}`);
      // a bridge with ports still has containers on it: say so, but leave their links alone
      if (ports.length === 0)
        removers.push(async () => {
          await exec('ip', ['link', 'del', bridge]);
          for (const tool of ['iptables', 'ip6tables'])
            for (const r of (await isolationRules(exec, tool)).filter((x) => x.bridge === bridge))
              await deleteFilterRule(exec, tool, r.rule);
        });
    }
  }
  return {
    found,
    remove: async () => {
      for (const r of [...removers, ...chainRemovers]) await r().catch(() => {});
    },
  };
}

/** Removes whatever a caller knows it leaves on purpose (the bench's ctr runs: ctr's DEL passes no netns). */
export async function removeCniLeftovers(netconfPath: string, cniContainerIds: readonly string[]): Promise<void> {
  await (await findCniLeftovers({ cniIds: cniContainerIds, ownNamespaces: [], netconfPath })).remove();
}

export async function networksIn(dir: string): Promise<NetworkConf[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const confs: NetworkConf[] = [];
  for (const entry of entries.filter((e) => /\.(conflist|conf|json)$/.test(e))) {
    try {
      const conf = JSON.parse(await readFile(join(dir, entry), 'utf8')) as {
        name?: string;
        plugins?: unknown[];
        nerdctlLabels?: Record<string, string>;
      } & Record<string, unknown>;
      const plugins = (conf.plugins ?? [conf]) as Record<string, unknown>[];
      const bridges = plugins.filter((p) => p['type'] === 'bridge').map((p) => (typeof p['bridge'] === 'string' ? p['bridge'] : 'cni0'));
      const isDefault = conf.nerdctlLabels?.[DEFAULT_NETWORK_LABEL] === 'true' || bridges.includes('nerdctl0');
      const dataDir = plugins.map((p) => (p['ipam'] as { dataDir?: unknown } | undefined)?.dataDir).find((d) => typeof d === 'string');
      const subnets = plugins.flatMap((p) => {
        const ipam = p['ipam'] as { subnet?: unknown; ranges?: { subnet?: unknown }[][] } | undefined;
        const all = [...(ipam?.ranges?.flat() ?? []).map((r) => r.subnet), ipam?.subnet];
        return all.filter((x): x is string => typeof x === 'string');
      });
      if (typeof conf.name === 'string')
        confs.push({ name: conf.name, bridges, isDefault, subnets, ...(typeof dataDir === 'string' ? { ipamDataDir: dataDir } : {}) });
    } catch {
      /* not a network config */
    }
  }
  return confs;
}

/** `-A …` rules of one table whose comment names one of the env's containers (`id: "<ns>-<id>"`). */
async function findRules(
  exec: Exec,
  tool: string,
  table: string,
  isOurs: (id: string) => boolean,
): Promise<{ ours: string[]; all: string[] }> {
  const listed = await exec(tool, ['-w', '-t', table, '-S']);
  if (listed.exitCode !== 0) return { ours: [], all: [] };
  const all = String(listed.stdout)
    .split('\n')
    .filter((l) => l.startsWith('-A '));
  const ours = all.filter((r) => [...r.matchAll(/id: \\"([^\\"]+)\\"/g)].some((m) => isOurs(m[1]!)));
  return { ours, all };
}

/** Deletes the rules, then the hash chains nothing else jumps to any more. */
async function removeRules(exec: Exec, tool: string, table: string, ours: readonly string[], all: readonly string[]): Promise<void> {
  const candidates = new Set<string>();
  for (const r of ours) {
    const [, chain] = r.split(' ');
    const target = / -[jg] (\S+)/.exec(r)?.[1];
    for (const c of [chain, target]) if (c && HASH_CHAIN.test(c)) candidates.add(c);
  }
  const remaining = all.filter((r) => !ours.includes(r));
  const referenced = (c: string) => remaining.some((r) => !r.startsWith(`-A ${c} `) && new RegExp(` -[jg] ${c}( |$)`).test(r));
  const chains = [...candidates].filter((c) => !referenced(c));
  const commands = [...ours.map((r) => `-D${r.slice(2)}`), ...chains.flatMap((c) => [`-F ${c}`, `-X ${c}`])];
  const restore = (lines: string[]) => exec(`${tool}-restore`, ['--noflush', '--wait'], [`*${table}`, ...lines, 'COMMIT', ''].join('\n'));
  // iptables-restore is all or nothing: if a rule vanished meanwhile, retry one command at a time
  if ((await restore(commands)).exitCode !== 0) for (const c of commands) await restore([c]);
}

/**
 * The CNI plugins' name for a per-container chain (containernetworking/plugins pkg/utils):
 * "CNI-" + prefix + the hex SHA-512 of network name + CNI container ID, cut to 28 characters.
 * Computed here on its own, not with src/'s function, so that the harness checks it.
 */
function hashChainName(network: string, cniId: string, prefix: '' | 'DN-' | 'SN-'): string {
  return `CNI-${prefix}${createHash('sha512')
    .update(network + cniId)
    .digest('hex')}`.slice(0, 28);
}

/** The nat chains named after (network, CNI ID) of one of the env's networks and containers (bridge ipMasq, portmap DNAT and old SNAT). */
async function hashChainsOf(
  exec: Exec,
  tool: string,
  networks: ReadonlySet<string>,
  cniIds: readonly string[],
): Promise<{ chain: string; network: string; cniId: string }[]> {
  const listed = await exec(tool, ['-w', '-t', 'nat', '-S']);
  if (listed.exitCode !== 0) return [];
  const present = new Set(
    String(listed.stdout)
      .split('\n')
      .filter((l) => l.startsWith('-N '))
      .map((l) => l.slice(3).trim()),
  );
  const found: { chain: string; network: string; cniId: string }[] = [];
  for (const network of networks)
    for (const cniId of new Set(cniIds))
      for (const prefix of ['', 'DN-', 'SN-'] as const) {
        const chain = hashChainName(network, cniId, prefix);
        if (present.has(chain)) found.push({ chain, network, cniId });
      }
  return found;
}

async function restoreNat(exec: Exec, tool: string, lines: readonly string[]): Promise<void> {
  await exec(`${tool}-restore`, ['--noflush', '--wait'], ['*nat', ...lines, 'COMMIT', ''].join('\n'));
}

/**
 * host-local keeps one file per IP whose first line is the owning container ID: those of
 * the env's containers are its leftovers. Only the owner says whose an allocation is: a
 * network of the same name may be another env's too (one overlay network on several
 * simulated hosts shares /var/lib/cni/networks/<name>).
 */
async function findAllocations(dataDirs: readonly string[], isOurs: (id: string) => boolean): Promise<{ path: string; owner: string }[]> {
  const found: { path: string; owner: string }[] = [];
  for (const base of dataDirs) {
    for (const net of await readdir(base).catch(() => [] as string[])) {
      const dir = join(base, net);
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        if (HOST_LOCAL_BOOKKEEPING.test(file)) continue;
        const owner = ((await readFile(join(dir, file), 'utf8').catch(() => '')).split(/\r?\n/)[0] ?? '').trim();
        if (isOurs(owner)) found.push({ path: join(dir, file), owner });
      }
    }
  }
  return found;
}

/** libcni's cache files are named `<network>-<containerID>-<ifname>`. */
async function findCachedResults(isOurs: (id: string) => boolean): Promise<string[]> {
  const dir = join(CNI_STATE, 'results');
  const found: string[] = [];
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    // the ID is the only part with 64 hex digits (or, for exact IDs, any dash-separated span)
    const parts = file.split('-');
    let ours = false;
    for (let i = 1; i < parts.length && !ours; i++) {
      for (let j = i + 1; j < parts.length && !ours; j++) ours = isOurs(parts.slice(i, j).join('-'));
    }
    if (ours) found.push(join(dir, file));
  }
  return found;
}

/** Deletes one `-A …` rule of the filter table (or `table`), as `iptables -S` printed it. */
async function deleteFilterRule(exec: Exec, tool: string, rule: string, table = 'filter'): Promise<void> {
  await exec(`${tool}-restore`, ['--noflush', '--wait'], `*${table}\n-D${rule.slice(2)}\nCOMMIT\n`);
}

async function isolationRules(exec: Exec, tool: string): Promise<{ rule: string; bridge: string }[]> {
  const listed = await exec(tool, ['-w', '-t', 'filter', '-S']);
  if (listed.exitCode !== 0) return [];
  return String(listed.stdout)
    .split('\n')
    .flatMap((rule) => {
      const bridge = isolationRuleBridge(rule);
      return bridge === undefined ? [] : [{ rule, bridge }];
    });
}

/**
 * The firewall plugin's two rules per container address in CNI-FORWARD (its getPrivChainRules),
 * read here without src/: every copy, with its address.
 */
async function firewallPluginRules(exec: Exec, tool: string): Promise<{ rule: string; address: string }[]> {
  const listed = await exec(tool, ['-w', '-t', 'filter', '-S', 'CNI-FORWARD']);
  if (listed.exitCode !== 0) return [];
  return String(listed.stdout)
    .split('\n')
    .flatMap((rule) => {
      const m =
        /^-A CNI-FORWARD -d (\S+)\/(?:32|128) -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT$/.exec(rule) ??
        /^-A CNI-FORWARD -s (\S+)\/(?:32|128) -j ACCEPT$/.exec(rule);
      return m ? [{ rule, address: m[1]! }] : [];
    });
}

function subnetList(subnets: readonly string[]): BlockList {
  const list = new BlockList();
  for (const s of subnets) {
    const [address, prefix] = s.split('/');
    try {
      list.addSubnet(address!, Number(prefix), isIPv6(address!) ? 'ipv6' : 'ipv4');
    } catch {
      /* not a subnet */
    }
  }
  return list;
}

/**
 * tsnerd's DNS rules (`--comment tsnerd-dns`) in INPUT, or in nat PREROUTING (the DNAT rules of
 * dns_bind_port), read here without src/, with the bridge each names (`-i`).
 */
async function dnsRules(exec: Exec, tool: string, table: 'filter' | 'nat' = 'filter'): Promise<{ rule: string; bridge: string }[]> {
  const chain = table === 'filter' ? 'INPUT' : 'PREROUTING';
  const listed = await exec(tool, ['-w', '-t', table, '-S', chain]);
  if (listed.exitCode !== 0) return [];
  return String(listed.stdout)
    .split('\n')
    .flatMap((rule) => {
      const bridge = / -i (\S+)/.exec(rule)?.[1];
      return rule.startsWith(`-A ${chain} `) && / --comment "?tsnerd-dns"? /.test(rule) && bridge !== undefined ? [{ rule, bridge }] : [];
    });
}

/** The links attached to a bridge, or undefined when there is no such bridge. */
async function bridgePorts(exec: Exec, bridge: string): Promise<string[] | undefined> {
  if ((await exec('ip', ['link', 'show', 'dev', bridge])).exitCode !== 0) return undefined;
  const ports = await exec('ip', ['-j', 'link', 'show', 'master', bridge]);
  if (ports.exitCode !== 0) return [];
  return (JSON.parse(String(ports.stdout) || '[]') as { ifname: string }[]).map((p) => p.ifname);
}

/** Runs a command in the env's network namespace; never throws. */
type Exec = (cmd: string, args: string[], input?: string) => Promise<{ exitCode?: number | undefined; stdout: unknown }>;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
