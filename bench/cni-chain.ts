/**
 * The raw CNI floor: a conflist's plugins executed directly (CNI_* env + stdin
 * config, prevResult chained, DEL in reverse), with no runtime around them.
 * This is what libcni does for one attachment, minus its caching.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './env.ts';
import { firstLine, timeCmd } from './proc.ts';

export const CNI_PATH = '/usr/lib/cni';

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface Attachment {
  containerId: string;
  netns: string;
  ifName: string;
  portMappings: PortMapping[];
}

export interface ChainTiming {
  totalMs: number;
  plugins: { type: string; ms: number }[];
  result: unknown;
}

/** tsnerd's bridge template (bridge → portmap → firewall → tuning) filled for one network. */
export async function bridgeConfList(name: string, bridge: string, subnet: string, gateway: string): Promise<ConfList> {
  const tpl = JSON.parse(await readFile(join(REPO_ROOT, 'templates/bridge.conflist.json'), 'utf8')) as Omit<ConfList, 'name'>;
  const plugins = tpl.plugins.map((p) => {
    if (p['type'] !== 'bridge') return p;
    const ipam = p['ipam'] as Record<string, unknown>;
    return { ...p, bridge, ipam: { ...ipam, ranges: [[{ subnet, gateway }]] } };
  });
  return { cniVersion: tpl.cniVersion, name, plugins };
}

export function chainAdd(list: ConfList, a: Attachment): Promise<ChainTiming> {
  return runChain('ADD', list, a, list.plugins, undefined);
}

/** DEL in reverse order, each plugin given the ADD result as prevResult (as libcni does from its cache). */
export function chainDel(list: ConfList, a: Attachment, addResult: unknown): Promise<ChainTiming> {
  return runChain('DEL', list, a, [...list.plugins].reverse(), addResult);
}

async function runChain(
  command: 'ADD' | 'DEL',
  list: ConfList,
  a: Attachment,
  plugins: Record<string, unknown>[],
  delPrev: unknown,
): Promise<ChainTiming> {
  const timings: ChainTiming['plugins'] = [];
  let prev: unknown = command === 'DEL' ? delPrev : undefined;
  const start = performance.now();
  for (const plugin of plugins) {
    const type = String(plugin['type']);
    const caps = (plugin['capabilities'] ?? {}) as Record<string, boolean>;
    const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
    delete conf['capabilities'];
    if (caps['portMappings'] && a.portMappings.length > 0) conf['runtimeConfig'] = { portMappings: a.portMappings };
    if (prev !== undefined) conf['prevResult'] = prev;
    const r = await timeCmd(join(CNI_PATH, type), [], {
      input: JSON.stringify(conf),
      env: { CNI_COMMAND: command, CNI_CONTAINERID: a.containerId, CNI_NETNS: a.netns, CNI_IFNAME: a.ifName, CNI_PATH },
      timeoutMs: 60_000,
    });
    if (r.exitCode !== 0) throw new Error(`raw ${command} ${type}: ${firstLine(r.stdout) || firstLine(r.stderr)}`);
    timings.push({ type, ms: r.ms });
    if (command === 'ADD') prev = JSON.parse(r.stdout) as unknown;
  }
  return { totalMs: performance.now() - start, plugins: timings, result: prev };
}
