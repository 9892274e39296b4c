/**
 * Throwaway host pieces for the CNI e2e tests: a named netns, a free
 * tcni<N> bridge name with its 10.222.<N>.0/24 subnet, and a cleanup that
 * removes the netns, the bridge and any iptables rule naming the container.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { deleteBridge } from '../helpers.ts';
import { execa } from 'execa';

export interface Slot {
  index: number;
  bridge: string;
  subnet: string;
  gateway: string;
  netns: string;
  netnsPath: string;
  containerId: string;
  dir: string;
}

/** Only this /16 is ours on the test machines. */
const slotsInUse = new Set<number>();

async function linkExists(name: string): Promise<boolean> {
  return (await execa('ip', ['link', 'show', name], { reject: false })).exitCode === 0;
}

async function subnetInUse(index: number): Promise<boolean> {
  const { stdout } = await execa('ip', ['-4', 'route', 'show', `10.222.${index}.0/24`]);
  return stdout.trim() !== '';
}

export async function takeSlot(): Promise<Slot> {
  const start = randomBytes(1)[0]!;
  for (let i = 0; i < 256; i++) {
    const index = (start + i) % 256;
    if (slotsInUse.has(index) || (await linkExists(`tcni${index}`)) || (await subnetInUse(index))) continue;
    slotsInUse.add(index);
    const rand = randomBytes(4).toString('hex');
    const netns = `tcni-${rand}`;
    await execa('ip', ['netns', 'add', netns]);
    return {
      index,
      bridge: `tcni${index}`,
      subnet: `10.222.${index}.0/24`,
      gateway: `10.222.${index}.1`,
      netns,
      netnsPath: `/var/run/netns/${netns}`,
      containerId: `tcni-${rand}-${randomBytes(8).toString('hex')}`,
      dir: await mkdtemp(join(tmpdir(), 'tsnerd-cni-e2e-')),
    };
  }
  throw new Error('no free 10.222.N.0/24 slot');
}

/** iptables-save lines (per table) that mention `needle`. */
export async function iptablesLinesWith(needle: string): Promise<string[]> {
  const lines: string[] = [];
  for (const table of ['filter', 'nat', 'mangle']) {
    const { stdout } = await execa('iptables-save', ['-t', table]);
    lines.push(
      ...stdout
        .split('\n')
        .filter((l) => l.includes(needle))
        .map((l) => `${table}: ${l}`),
    );
  }
  return lines;
}

/** Best effort; runs after a failed test too. Shared CNI-* chains stay for the other users of the plugins. */
export async function releaseSlot(slot: Slot): Promise<void> {
  await execa('ip', ['netns', 'del', slot.netns], { reject: false });
  if (await linkExists(slot.bridge)) await deleteBridge(slot.bridge);
  for (const line of await iptablesLinesWith(slot.containerId)) {
    const [table, rule] = line.split(': ', 2) as [string, string];
    if (!rule.startsWith('-A ')) continue;
    const chain = / -j (CNI-(?:DN-)?[0-9a-f]{20,})/.exec(rule)?.[1];
    // iptables-save quotes the way a shell reads it.
    await execa('sh', ['-c', `iptables -w -t ${table} -D ${rule.slice(3)}`], { reject: false });
    if (chain) {
      await execa('iptables', ['-w', '-t', table, '-F', chain], { reject: false });
      await execa('iptables', ['-w', '-t', table, '-X', chain], { reject: false });
    }
  }
  if (existsSync(slot.dir)) await rm(slot.dir, { recursive: true, force: true });
  slotsInUse.delete(slot.index);
}
