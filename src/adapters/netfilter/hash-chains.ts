/**
 * Per-container hash chains (domain/netfilter/hash-chains.ts) in the nat table, IPv4 and IPv6:
 * one `iptables -S` per family to find them, one iptables-restore to delete them.
 */
import { hashChainRemoval, removableHashChains, type ChainOwner, type HashChainKind } from '../../domain/netfilter/hash-chains.ts';
import type { HashChain } from '../../interfaces/cni-host-state.ts';
import { runProcess } from '../host/run-process.ts';
import { restoreAll } from './restore.ts';

const TOOLS = ['iptables', 'ip6tables'] as const;

/** The owners' hash chains that are present and only theirs (removableHashChains). */
export async function findHashChains(owners: readonly ChainOwner[], kinds?: readonly HashChainKind[]): Promise<HashChain[]> {
  if (owners.length === 0) return [];
  const out: HashChain[] = [];
  for (const tool of TOOLS) for (const c of removableHashChains(await natListing(tool), owners, kinds)) out.push({ ...c, tool });
  return out;
}

/** Deletes the owners' hash chains that are only theirs, with the owners' rules that jump to them; returns what it deleted. */
export async function removeHashChains(owners: readonly ChainOwner[], kinds?: readonly HashChainKind[]): Promise<HashChain[]> {
  if (owners.length === 0) return [];
  const removed: HashChain[] = [];
  for (const tool of TOOLS) {
    const chains = removableHashChains(await natListing(tool), owners, kinds);
    if (chains.length === 0) continue;
    if (await restoreAll(tool, 'nat', hashChainRemoval(chains))) {
      removed.push(...chains.map((c) => ({ ...c, tool })));
      continue;
    }
    // All or nothing: a rule or chain changed meanwhile. One chain at a time, its references one by one.
    for (const c of chains) {
      for (const r of c.references) await restoreAll(tool, 'nat', [`-D${r.slice(2)}`]);
      if (await restoreAll(tool, 'nat', [`-F ${c.chain}`, `-X ${c.chain}`])) removed.push({ ...c, tool });
    }
  }
  return removed;
}

async function natListing(tool: string): Promise<string> {
  const listed = await runProcess(tool, ['-w', '-t', 'nat', '-S']);
  return listed.exitCode === 0 ? listed.stdout : '';
}
