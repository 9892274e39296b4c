/**
 * libcni's on-disk result cache entry (`cniCacheV1`), so that ctr, nerdctl and
 * CRI read tsnerd's attachments and the other way round.
 */
import { invalid } from '../errors.ts';
import * as z from '../zod.ts';
import type { CapabilityArgs } from './runtime-config.ts';

export const CACHE_KIND = 'cniCacheV1';

export interface CacheEntry {
  containerId: string;
  networkName: string;
  ifName: string;
  /** The conflist bytes as loaded (base64 on disk, since Go encodes []byte so). */
  config?: string;
  netns?: string;
  cniArgs?: Array<[string, string]>;
  capabilityArgs?: CapabilityArgs;
  /** The final result of the ADD, in the list's cniVersion. */
  result?: Record<string, unknown>;
}

const entrySchema = z.object({
  kind: z.literal(CACHE_KIND),
  containerId: z.string(),
  config: z.optional(z.string()),
  ifName: z.string(),
  networkName: z.string(),
  netns: z.optional(z.string()),
  cniArgs: z.nullish(z.array(z.tuple([z.string(), z.string()]))),
  capabilityArgs: z.nullish(z.record(z.string(), z.unknown())),
  result: z.nullish(z.record(z.string(), z.unknown())),
});

export function encodeCacheEntry(entry: CacheEntry): string {
  const { containerId, networkName, ifName, config, netns, cniArgs, capabilityArgs, result } = entry;
  return JSON.stringify({
    kind: CACHE_KIND,
    containerId,
    config: Buffer.from(config ?? '', 'utf8').toString('base64'),
    ifName,
    networkName,
    ...(netns ? { netns } : {}),
    ...(cniArgs && cniArgs.length > 0 ? { cniArgs } : {}),
    ...(capabilityArgs && Object.keys(capabilityArgs).length > 0 ? { capabilityArgs } : {}),
    result,
  });
}

/** Reads a cache file; libcni's legacy format is the bare result JSON. */
export function decodeCacheEntry(text: string, key: { networkName: string; containerId: string; ifName: string }): CacheEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid('CNI cache entry is not valid JSON', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('CNI cache entry is not a JSON object');
  if ((value as { kind?: unknown }).kind !== CACHE_KIND) return { ...key, result: value as Record<string, unknown> };
  const parsed = entrySchema.safeParse(value);
  if (!parsed.success) throw invalid(`invalid CNI cache entry: ${parsed.error.issues[0]?.message ?? ''}`);
  const d = parsed.data;
  return {
    containerId: d.containerId,
    networkName: d.networkName,
    ifName: d.ifName,
    ...(d.config ? { config: Buffer.from(d.config, 'base64').toString('utf8') } : {}),
    ...(d.netns ? { netns: d.netns } : {}),
    ...(d.cniArgs ? { cniArgs: d.cniArgs } : {}),
    ...(d.capabilityArgs ? { capabilityArgs: d.capabilityArgs as CapabilityArgs } : {}),
    ...(d.result ? { result: d.result } : {}),
  };
}
