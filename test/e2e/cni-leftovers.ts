/**
 * Safety net run by the harness's stop(): whatever a failed or crashed test left on the
 * host for its own containers (iptables rules and chains, host-local IP allocations, CNI
 * result cache entries, idle bridges of its networks) is removed, so it cannot change the
 * outcome of the next run. It matches exact CNI container IDs (`<ns>-<id>`) only.
 */
import { execa } from 'execa';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const CNI_STATE = '/var/lib/cni';
/** Per-container chains the plugins name after a hash (bridge ipMasq, portmap DNAT/SNAT). */
const HASH_CHAIN = /^CNI-(?:DN-|SN-)?[0-9a-f]+$/;

export async function removeCniLeftovers(netconfPath: string, cniContainerIds: readonly string[]): Promise<void> {
  const networks = await networksIn(netconfPath);
  if (cniContainerIds.length > 0) {
    for (const tool of ['iptables', 'ip6tables']) {
      for (const table of ['nat', 'filter', 'mangle']) await removeRules(tool, table, cniContainerIds);
    }
    await removeAllocations(networks.map((n) => n.name), cniContainerIds);
    await removeCachedResults(cniContainerIds);
  }
  for (const bridge of new Set(networks.flatMap((n) => n.bridges))) await removeIdleBridge(bridge);
}

interface NetworkConf {
  name: string;
  bridges: string[];
}

async function networksIn(dir: string): Promise<NetworkConf[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const confs: NetworkConf[] = [];
  for (const entry of entries.filter((e) => /\.(conflist|conf|json)$/.test(e))) {
    try {
      const conf = JSON.parse(await readFile(join(dir, entry), 'utf8')) as { name?: string; plugins?: unknown[] } & Record<string, unknown>;
      const plugins = (conf.plugins ?? [conf]) as Record<string, unknown>[];
      const bridges = plugins.filter((p) => p['type'] === 'bridge').map((p) => (typeof p['bridge'] === 'string' ? p['bridge'] : 'cni0'));
      if (typeof conf.name === 'string') confs.push({ name: conf.name, bridges });
    } catch { /* not a network config */ }
  }
  return confs;
}

/** Deletes the rules naming one of the containers, then the hash chains nothing jumps to any more. */
async function removeRules(tool: string, table: string, ids: readonly string[]): Promise<void> {
  const listed = await execa(tool, ['-w', '-t', table, '-S'], { reject: false });
  if (listed.exitCode !== 0) return;
  const rules = String(listed.stdout).split('\n').filter((l) => l.startsWith('-A '));
  const ours = rules.filter((r) => ids.some((id) => r.includes(`id: \\"${id}\\"`)));
  if (ours.length === 0) return;
  const candidates = new Set<string>();
  for (const r of ours) {
    const [, chain] = r.split(' ');
    const target = / -[jg] (\S+)/.exec(r)?.[1];
    for (const c of [chain, target]) if (c && HASH_CHAIN.test(c)) candidates.add(c);
  }
  const remaining = rules.filter((r) => !ours.includes(r));
  const referenced = (c: string) => remaining.some((r) => !r.startsWith(`-A ${c} `) && new RegExp(` -[jg] ${c}( |$)`).test(r));
  const chains = [...candidates].filter((c) => !referenced(c));
  const commands = [...ours.map((r) => `-D${r.slice(2)}`), ...chains.flatMap((c) => [`-F ${c}`, `-X ${c}`])];
  const restore = (lines: string[]) => execa(`${tool}-restore`, ['--noflush', '--wait'], { input: [`*${table}`, ...lines, 'COMMIT', ''].join('\n'), reject: false });
  // iptables-restore is all or nothing: if a rule vanished meanwhile, retry one command at a time
  if ((await restore(commands)).exitCode !== 0) for (const c of commands) await restore([c]);
}

/** host-local keeps one file per IP whose first line is the owning container ID. */
async function removeAllocations(networks: readonly string[], ids: readonly string[]): Promise<void> {
  for (const net of networks) {
    const dir = join(CNI_STATE, 'networks', net);
    for (const file of await readdir(dir).catch(() => [] as string[])) {
      const owner = (await readFile(join(dir, file), 'utf8').catch(() => '')).split(/\r?\n/)[0] ?? '';
      if (ids.includes(owner.trim())) await rm(join(dir, file), { force: true });
    }
  }
}

/** libcni's cache files are named `<network>-<containerID>-<ifname>`. */
async function removeCachedResults(ids: readonly string[]): Promise<void> {
  const dir = join(CNI_STATE, 'results');
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    if (ids.some((id) => file.includes(`-${id}-`))) await rm(join(dir, file), { force: true });
  }
}

/** Only a bridge with no ports left: a busy one belongs to containers that are not ours. */
async function removeIdleBridge(bridge: string): Promise<void> {
  const ports = await execa('ip', ['-j', 'link', 'show', 'master', bridge], { reject: false });
  if (ports.exitCode !== 0) return; // no such link
  const attached = JSON.parse(String(ports.stdout) || '[]') as unknown[];
  if (attached.length === 0) await execa('ip', ['link', 'del', bridge], { reject: false });
}
