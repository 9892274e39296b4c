/**
 * CNI results: every spec version's result is read into one typed model with
 * the 1.0.0 shape, and written back in any version a plugin or cache needs
 * (libcni pkg/types/{020,040,100} converters).
 */
import { invalid } from '../errors.ts';
import * as z from '../zod.ts';
import { issueText } from './issue-text.ts';
import { compareVersions, parseVersion } from './version.ts';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface CniIpConfig {
  /** CIDR notation, e.g. 10.4.0.2/24. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  /** 1.0.0, or 1.1.0 when the plugin answered in 1.1.0 (same shape). */
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

const dnsSchema = z.object({
  nameservers: z.optional(z.array(z.string())),
  domain: z.optional(z.string()),
  search: z.optional(z.array(z.string())),
  options: z.optional(z.array(z.string())),
});

const routeSchema = z.object({
  dst: z.string(),
  gw: z.optional(z.string()),
  mtu: z.optional(z.number()),
  advmss: z.optional(z.number()),
  priority: z.optional(z.number()),
  table: z.optional(z.number()),
  scope: z.optional(z.number()),
});

const interfaceSchema = z.object({
  name: z.string(),
  mac: z.optional(z.string()),
  mtu: z.optional(z.number()),
  sandbox: z.optional(z.string()),
  socketPath: z.optional(z.string()),
  pciID: z.optional(z.string()),
});

const ipSchema = z.object({
  address: z.string(),
  gateway: z.optional(z.string()),
  interface: z.optional(z.number().check(z.int(), z.nonnegative())),
});

const currentSchema = z.object({
  interfaces: z.nullish(z.array(interfaceSchema)),
  ips: z.nullish(z.array(ipSchema)),
  routes: z.nullish(z.array(routeSchema)),
  dns: z.nullish(dnsSchema),
});

// 0.3.x/0.4.0 differ from 1.0.0 only by the (dropped) ips[].version.
const v04Schema = z.extend(currentSchema, { ips: z.nullish(z.array(z.extend(ipSchema, { version: z.optional(z.string()) }))) });

const legacyIpSchema = z.object({
  ip: z.string(),
  gateway: z.optional(z.string()),
  routes: z.nullish(z.array(z.object({ dst: z.string(), gw: z.optional(z.string()) }))),
});

const v02Schema = z.object({ ip4: z.nullish(legacyIpSchema), ip6: z.nullish(legacyIpSchema), dns: z.nullish(dnsSchema) });

type Family = 'v1' | 'v04' | 'v02';

function familyOf(version: string): Family {
  if (['1.0.0', '1.1.0'].includes(version)) return 'v1';
  if (['0.3.0', '0.3.1', '0.4.0'].includes(version)) return 'v04';
  if (['0.1.0', '0.2.0'].includes(version)) return 'v02';
  throw invalid(`no converter for CNI result version "${version}"`);
}

/** The version a raw result declares; a missing or empty one is the config's (libcni fixupResultVersion). */
export function resultVersion(raw: unknown, configVersion: string): string {
  const declared = (raw as { cniVersion?: unknown } | null)?.cniVersion;
  if (typeof declared === 'string' && declared !== '') return declared;
  return configVersion === '' ? '0.1.0' : configVersion;
}

function parseWith<T>(schema: z.ZodMiniType<T>, raw: unknown, version: string): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalid(`invalid CNI ${version} result: ${issueText(parsed.error)}`);
  return parsed.data;
}

/** Reads a result of any supported version into the 1.0.0 model. */
export function parseResult(raw: unknown, configVersion: string): CniResult {
  const version = resultVersion(raw, configVersion);
  const family = familyOf(version);
  if (family === 'v02') {
    const r = parseWith(v02Schema, raw, version);
    const legacy = [r.ip4, r.ip6].filter((x) => x != null);
    return {
      cniVersion: '1.0.0',
      interfaces: [],
      ips: legacy.map((x) => ({ address: x.ip, ...(x.gateway ? { gateway: x.gateway } : {}) })),
      routes: legacy.flatMap((x) => x.routes ?? []).map(stripUndefined),
      dns: stripUndefined(r.dns ?? {}),
    };
  }
  const r = parseWith(family === 'v1' ? currentSchema : v04Schema, raw, version);
  return {
    cniVersion: family === 'v1' ? version : '1.0.0',
    interfaces: (r.interfaces ?? []).map(stripUndefined),
    ips: (r.ips ?? []).map(({ address, gateway, interface: index }) => stripUndefined({ address, gateway, interface: index })),
    routes: (r.routes ?? []).map(stripUndefined),
    dns: stripUndefined(r.dns ?? {}),
  };
}

const isV6 = (cidr: string): boolean => cidr.includes(':');

/** Writes the model as a result of `version` (for prevResult and the result cache). */
export function resultToVersion(result: CniResult, version: string): Record<string, unknown> {
  const family = familyOf(version);
  const withArrays = (fields: Record<string, unknown[]>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(fields).filter(([, v]) => v.length > 0));
  if (family === 'v1') {
    return {
      cniVersion: version,
      ...withArrays({ interfaces: result.interfaces, ips: result.ips, routes: result.routes }),
      dns: result.dns,
    };
  }
  if (family === 'v04') {
    return {
      cniVersion: version,
      ...withArrays({
        interfaces: result.interfaces.map(({ name, mac, sandbox }) => stripUndefined({ name, mac, sandbox })),
        ips: result.ips.map((ip) => ({ version: isV6(ip.address) ? '6' : '4', ...ip })),
        routes: result.routes.map(({ dst, gw }) => stripUndefined({ dst, gw })),
      }),
      dns: result.dns,
    };
  }
  // 0.1.0/0.2.0 hold only the first address of each family.
  const legacy = (v6: boolean) => {
    const ip = result.ips.find((x) => isV6(x.address) === v6);
    if (!ip) return undefined;
    const routes = result.routes.filter((r) => isV6(r.dst) === v6).map(({ dst, gw }) => stripUndefined({ dst, gw }));
    return stripUndefined({ ip: ip.address, gateway: ip.gateway, routes: routes.length > 0 ? routes : undefined });
  };
  return stripUndefined({ cniVersion: version, ip4: legacy(false), ip6: legacy(true), dns: result.dns });
}

/**
 * Converts a raw result to `version`, keeping it byte-for-byte (unknown keys
 * included) when it is already in that version.
 */
export function convertRawResult(raw: unknown, fromConfigVersion: string, version: string): Record<string, unknown> {
  parseVersion(version);
  const declared = resultVersion(raw, fromConfigVersion);
  const result = parseResult(raw, fromConfigVersion);
  if (compareVersions(declared, version) === 0) return { ...(raw as Record<string, unknown>), cniVersion: declared };
  return resultToVersion(result, version);
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
}
