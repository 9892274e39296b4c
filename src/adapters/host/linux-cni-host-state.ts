/** CniHostState on Linux: host-local's files and iptables/ip6tables, through run-process (no execa). */
import { readdir, readFile, readlink, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CniHostState, HashChain, IpAllocation, TaggedRule } from '../../interfaces/cni-host-state.ts';
import type { ChainOwner } from '../../domain/netfilter/hash-chains.ts';
import { findHashChains, removeHashChains } from '../netfilter/hash-chains.ts';
import type { CachedAttachment } from '../../interfaces/cni.ts';
import { attachmentCacheName } from '../../domain/cni/attachment.ts';
import { DEFAULT_CNI_CACHE_DIR } from '../cni/result-cache.ts';
import { runProcess } from './run-process.ts';
import { internal } from '../../domain/errors.ts';
import { isolatedBridges, removeBridgeRules } from '../netfilter/isolation-rules.ts';
import { dnsInputRuleBridges } from '../netfilter/dns-input-rules.ts';
import { restoreEach } from '../netfilter/restore.ts';
import { ruleOwner } from '../../domain/netfilter/hash-chains.ts';
import { hostBootTime, procStat } from './proc.ts';

/** host-local's default dataDir. */
export const HOST_LOCAL_DIR = '/var/lib/cni/networks';
/** host-local's own files in a network's dir, beside the one file per allocated IP. */
export const HOST_LOCAL_BOOKKEEPING = /^(?:lock|last_reserved_ip\..*)$/;
const TOOLS = ['iptables', 'ip6tables'] as const;
const TABLES = ['nat', 'filter', 'mangle'] as const;
/** Chains the plugins name per container (bridge ipMasq CNI-<hash>, portmap CNI-DN-/CNI-SN-<hash>). */
const PER_CONTAINER_CHAIN = /^CNI-(?:DN-|SN-)?[0-9a-f]{20,}$/;

export class LinuxCniHostState implements CniHostState {
  private readonly cacheDir: string;
  private bootTime: Promise<number> | undefined;

  constructor(cacheDir = DEFAULT_CNI_CACHE_DIR) {
    this.cacheDir = cacheDir;
  }

  async attachmentAlive(a: CachedAttachment): Promise<boolean> {
    const netns = netnsOf(a);
    if (!netns) return true;
    const file = join(this.cacheDir, 'results', attachmentCacheName(a.networkName, a.containerId, a.ifName));
    const written = (await stat(file).catch(() => undefined))?.mtimeMs;
    if (written !== undefined && written < (await (this.bootTime ??= hostBootTime()))) return false;
    return (await stat(netns).catch(() => undefined)) !== undefined;
  }

  async attachmentHere(a: CachedAttachment): Promise<boolean> {
    const pid = /^\/proc\/(\d+)\/ns\/net$/.exec(netnsOf(a) ?? '')?.[1];
    if (pid === undefined) return true;
    const ppid = (await procStat(Number(pid)))?.ppid;
    if (ppid === undefined) return true;
    const [theirs, ours] = await Promise.all([readlink(`/proc/${ppid}/ns/net`), readlink('/proc/self/ns/net')]).catch(() => []);
    return theirs === undefined || theirs === ours;
  }

  async allocations(network: string, dataDir = HOST_LOCAL_DIR): Promise<IpAllocation[]> {
    const dir = join(dataDir, network);
    const out: IpAllocation[] = [];
    for (const file of await readdir(dir).catch(() => [] as string[])) {
      if (HOST_LOCAL_BOOKKEEPING.test(file)) continue;
      const path = join(dir, file);
      const owner = ((await readFile(path, 'utf8').catch(() => '')).split(/\r?\n/)[0] ?? '').trim();
      out.push({ network, ip: file, owner, path });
    }
    return out;
  }

  async allAllocations(dataDir = HOST_LOCAL_DIR): Promise<IpAllocation[]> {
    const out: IpAllocation[] = [];
    for (const network of await readdir(dataDir).catch(() => [] as string[])) out.push(...(await this.allocations(network, dataDir)));
    return out;
  }

  async firewallRules(): Promise<{ tool: 'iptables' | 'ip6tables'; listing: string }[]> {
    const out: { tool: 'iptables' | 'ip6tables'; listing: string }[] = [];
    for (const tool of TOOLS) {
      const listed = await runProcess(tool, ['-w', '-t', 'filter', '-S', 'CNI-FORWARD']);
      out.push({ tool, listing: listed.exitCode === 0 ? listed.stdout : '' });
    }
    return out;
  }

  async removeFirewallRules(tool: 'iptables' | 'ip6tables', rules: readonly string[]): Promise<void> {
    const lines = rules.map((r) => `-D${r.slice(2)}`);
    const done = await runProcess(`${tool}-restore`, ['--noflush', '--wait'], { input: ['*filter', ...lines, 'COMMIT', ''].join('\n') });
    if (done.exitCode !== 0)
      throw internal(`${tool}-restore of ${rules.length} CNI-FORWARD rule deletions: ${done.stderr.trim() || `exit ${done.exitCode}`}`);
  }

  removeHostLocalDir(network: string, dataDir: string | undefined): Promise<void> {
    return removeIdleHostLocalDir(network, dataDir);
  }

  async releaseAllocation(a: IpAllocation): Promise<void> {
    await rm(a.path, { force: true });
  }

  async taggedRules(): Promise<TaggedRule[]> {
    const out: TaggedRule[] = [];
    for (const tool of TOOLS) {
      for (const table of TABLES) {
        for (const rule of await listRules(tool, table)) {
          const tag = rule.startsWith('-A ') ? ruleOwner(rule) : undefined;
          if (tag) out.push({ tool, table, rule, network: tag.network, owner: tag.cniId });
        }
      }
    }
    return out;
  }

  async removeRules(rules: readonly TaggedRule[]): Promise<void> {
    for (const tool of TOOLS) {
      for (const table of TABLES) {
        const mine = rules.filter((r) => r.tool === tool && r.table === table).map((r) => r.rule);
        if (mine.length > 0) await removeFrom(tool, table, mine);
      }
    }
  }

  hashChains(owners: readonly ChainOwner[]): Promise<HashChain[]> {
    return findHashChains(owners);
  }

  removeHashChains(owners: readonly ChainOwner[]): Promise<HashChain[]> {
    return removeHashChains(owners);
  }

  /**
   * By /proc/self/net/dev, the list of this process's network namespace: /sys is the namespace of
   * whoever mounted it (`nsenter --net` keeps the host's), where a test's "host" namespace's
   * bridges are not, and another namespace's link of the same name may be.
   */
  async linkExists(name: string): Promise<boolean> {
    const dev = await readFile('/proc/self/net/dev', 'utf8').catch(() => undefined);
    if (dev === undefined) return (await stat(`/sys/class/net/${name}`).catch(() => undefined)) !== undefined;
    return dev.split('\n').some((l) => l.trimStart().startsWith(`${name}:`));
  }

  async isIdleBridge(name: string): Promise<boolean> {
    const ports = await readdir(`/sys/class/net/${name}/brif`).catch(() => undefined);
    return ports !== undefined && ports.length === 0;
  }

  async deleteLink(name: string): Promise<void> {
    await runProcess('ip', ['link', 'del', 'dev', name]);
  }

  isolatedBridges(): Promise<Set<string>> {
    return isolatedBridges();
  }

  removeBridgeRules(bridge: string): Promise<void> {
    return removeBridgeRules(bridge);
  }

  dnsRuleBridges(): Promise<Set<string>> {
    return dnsInputRuleBridges();
  }
}

/**
 * Removes `<dataDir>/<network>/` if it holds only host-local's bookkeeping (`lock`,
 * `last_reserved_ip.*`): what host-local leaves of a network once its last IP is released.
 * One holding an allocation is kept. Call it under the CNI lock, so that no ADD writes there meanwhile.
 */
export async function removeIdleHostLocalDir(network: string, dataDir: string = HOST_LOCAL_DIR): Promise<void> {
  if (network === '' || network === '.' || network === '..' || network.includes('/')) return;
  const dir = join(dataDir, network);
  const files = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (files === undefined || files.some((f) => !HOST_LOCAL_BOOKKEEPING.test(f))) return;
  const gone = (err: NodeJS.ErrnoException) => {
    // ENOTEMPTY: written meanwhile by a plugin of a tool that does not take the CNI lock: kept.
    if (err.code !== 'ENOENT' && err.code !== 'ENOTEMPTY') throw err;
  };
  for (const f of files) await unlink(join(dir, f)).catch(gone);
  await rmdir(dir).catch(gone);
}

/** The netns of a cached attachment: the entry's, else the result's sandbox. */
function netnsOf(a: CachedAttachment): string | undefined {
  return a.netns || a.result?.interfaces?.find((i) => i.sandbox)?.sandbox;
}

async function listRules(tool: string, table: string): Promise<string[]> {
  const listed = await runProcess(tool, ['-w', '-t', table, '-S']);
  return listed.exitCode === 0 ? listed.stdout.split('\n') : [];
}

/** Deletes the rules, then the per-container chains they touched that nothing else jumps to. */
async function removeFrom(tool: string, table: string, doomed: readonly string[]): Promise<void> {
  const all = await listRules(tool, table);
  const present = doomed.filter((r) => all.includes(r));
  const chains = new Set<string>();
  for (const r of present) {
    const chain = r.split(' ')[1] ?? '';
    const target = / -[jg] (\S+)/.exec(r)?.[1] ?? '';
    for (const c of [chain, target]) if (PER_CONTAINER_CHAIN.test(c)) chains.add(c);
  }
  const remaining = all.filter((r) => r.startsWith('-A ') && !present.includes(r));
  const referenced = (c: string) => remaining.some((r) => !r.startsWith(`-A ${c} `) && new RegExp(` -[jg] ${c}( |$)`).test(r));
  const orphanChains = [...chains].filter((c) => all.includes(`-N ${c}`) && !referenced(c));
  await restoreEach(tool, table, [...present.map((r) => `-D${r.slice(2)}`), ...orphanChains.flatMap((c) => [`-F ${c}`, `-X ${c}`])]);
}
