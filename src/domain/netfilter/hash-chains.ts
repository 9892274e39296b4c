/**
 * The chains the CNI plugins make per container in the nat table, named after a hash of the
 * network name and the CNI container ID (containernetworking/plugins pkg/utils): the bridge
 * plugin's masquerade chain `CNI-<hash>` (ipMasq), portmap's DNAT chain `CNI-DN-<hash>` and its
 * old SNAT chain `CNI-SN-<hash>`, which its DEL still creates in order to flush and delete it.
 *
 * A DEL or ADD killed between creating such a chain and deleting it (or filling it) leaves it
 * empty: no rule, so no comment names its container, and only its name says whose it is. The
 * runtime, which knows its containers' (network, CNI ID) pairs, finds them by name.
 */
import { sha512Hex } from '../sha256.ts';

/** The plugins' limit: iptables chain names are at most 28 characters. */
const MAX_CHAIN_LENGTH = 28;

export type HashChainKind = 'masquerade' | 'dnat' | 'snat';

const PREFIXES: Record<HashChainKind, string> = { masquerade: '', dnat: 'DN-', snat: 'SN-' };

/** "CNI-" + prefix + hex SHA-512 of network + CNI container ID, cut to 28 characters. */
export function hashChainName(network: string, cniId: string, prefix = ''): string {
  return `CNI-${prefix}${sha512Hex(network + cniId)}`.slice(0, MAX_CHAIN_LENGTH);
}

/** The three chain names of one (network, CNI container ID) pair. */
export function hashChainsOf(network: string, cniId: string): { kind: HashChainKind; chain: string }[] {
  return (Object.keys(PREFIXES) as HashChainKind[]).map((kind) => ({ kind, chain: hashChainName(network, cniId, PREFIXES[kind]) }));
}

/** A container's attachment to a network, whose hash chains are its own. */
export interface ChainOwner {
  network: string;
  /** The CNI container ID (`<namespace>-<id>`). */
  cniId: string;
}

/** One hash chain of a container found in an `iptables -t nat -S` listing, removable. */
export interface OwnedChain extends ChainOwner {
  chain: string;
  kind: HashChainKind;
  /** The rules in it (`-A <chain> …`), all the container's. */
  rules: string[];
  /** The rules elsewhere that jump to it, all tagged with the container's comment. */
  references: string[];
}

/**
 * The owners' hash chains in a listing (`iptables -t nat -S`) that can go: present, holding only
 * the owner's rules (untagged ones, as portmap's DNAT rules are, or tagged with its own
 * `name: "<network>" id: "<CNI ID>"`), and referred to only by rules tagged with its comment.
 * A chain another container's rule (or an untagged one) refers to or holds a rule of is kept.
 */
export function removableHashChains(
  listing: string,
  owners: readonly ChainOwner[],
  kinds: readonly HashChainKind[] = ['masquerade', 'dnat', 'snat'],
): OwnedChain[] {
  const lines = listing.split('\n').map((l) => l.trimEnd());
  const declared = new Set(lines.filter((l) => l.startsWith('-N ')).map((l) => l.slice(3)));
  const appended = lines.filter((l) => l.startsWith('-A '));
  const out: OwnedChain[] = [];
  const seen = new Set<string>();
  for (const owner of owners) {
    for (const { kind, chain } of hashChainsOf(owner.network, owner.cniId)) {
      if (!kinds.includes(kind) || !declared.has(chain) || seen.has(chain)) continue;
      const rules = appended.filter((r) => r.startsWith(`-A ${chain} `) || r === `-A ${chain}`);
      if (!rules.every((r) => ruleOwner(r) === undefined || sameOwner(ruleOwner(r)!, owner))) continue;
      const references = appended.filter((r) => !rules.includes(r) && jumpsTo(r, chain));
      if (!references.every((r) => ruleOwner(r) !== undefined && sameOwner(ruleOwner(r)!, owner))) continue;
      seen.add(chain);
      out.push({ ...owner, chain, kind, rules, references });
    }
  }
  return out;
}

/** iptables-restore --noflush commands (one table, nat) that delete the chains with their references. */
export function hashChainRemoval(chains: readonly OwnedChain[]): string[] {
  const references = [...new Set(chains.flatMap((c) => c.references))];
  return [...references.map((r) => `-D${r.slice(2)}`), ...chains.flatMap((c) => [`-F ${c.chain}`, `-X ${c.chain}`])];
}

/** The network and container a rule's comment names (`name: "<net>" id: "<id>"`, as `iptables -S` quotes it). */
export function ruleOwner(rule: string): ChainOwner | undefined {
  const m = /name: \\"([^"\\]+)\\" id: \\"([^"\\]+)\\"/.exec(rule);
  return m ? { network: m[1]!, cniId: m[2]! } : undefined;
}

function sameOwner(a: ChainOwner, b: ChainOwner): boolean {
  return a.network === b.network && a.cniId === b.cniId;
}

function jumpsTo(rule: string, chain: string): boolean {
  const words = rule.split(' ');
  return words.some((w, i) => (w === '-j' || w === '-g') && words[i + 1] === chain);
}
