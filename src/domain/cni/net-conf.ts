/**
 * Network configuration (SPEC §1): a conflist, or a legacy single-plugin conf
 * upconverted to a one-plugin list as libcni's ConfListFromConf does.
 */
import { invalid } from '../errors.ts';
import * as z from '../zod.ts';
import { issueText } from './issue-text.ts';
import { selectVersion } from './version.ts';

/** libcni pkg/utils: network names and container IDs share this pattern. */
export const CNI_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface PluginConf {
  type: string;
  /** Capabilities the plugin declares `true` (only those get runtimeConfig). */
  capabilities: string[];
  /** The plugin object as written; every key is passed through unchanged. */
  raw: Record<string, unknown>;
}

export interface NetworkConfigList {
  name: string;
  /** The protocol version selected for this list (see selectVersion). */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: PluginConf[];
  /** The conflist JSON as loaded (upconverted for a .conf): stored in the result cache. */
  bytes: string;
  /** The parsed top-level object, including keys tsnerd does not know (nerdctlID, …). */
  raw: Record<string, unknown>;
  file?: string;
}

const pluginSchema = z.looseObject({
  type: z.string({ error: 'missing type' }).check(
    z.minLength(1, 'missing type'),
    z.refine((t) => !t.includes('/'), 'must not contain "/"'),
  ),
  capabilities: z.optional(z.record(z.string(), z.boolean())),
});

// libcni accepts JSON booleans and the strings "true"/"false" in any case.
const flagSchema = z.pipe(
  z.optional(z.union([z.boolean(), z.string()])),
  z.transform((v: boolean | string | undefined, ctx) => {
    if (v === undefined || typeof v === 'boolean') return v === true;
    const lower = v.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower === 'true';
    ctx.issues.push({ code: 'custom', message: `invalid value "${v}"`, input: v });
    return z.NEVER;
  }),
);

const listSchema = z.looseObject({
  name: z.string().check(z.regex(CNI_NAME_PATTERN, 'invalid network name')),
  cniVersion: z.optional(z.string()),
  cniVersions: z.optional(z.array(z.string())),
  disableCheck: flagSchema,
  disableGC: flagSchema,
  plugins: z.array(pluginSchema, 'no plugin configs found').check(z.minLength(1, 'no plugins in list')),
});

const confSchema = z.extend(pluginSchema, {
  name: z.string().check(z.regex(CNI_NAME_PATTERN, 'invalid network name')),
  cniVersion: z.optional(z.string()),
});

function parseJsonObject(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // The parser's own text ("Unexpected token … at position 3") is for --debug.
    throw invalid(`invalid CNI config${source}: not valid JSON`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`invalid CNI config${source}: not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function toPluginConf(raw: z.infer<typeof pluginSchema>): PluginConf {
  const capabilities = Object.entries(raw.capabilities ?? {})
    .filter(([, on]) => on)
    .map(([k]) => k);
  return { type: raw.type, capabilities, raw };
}

function describe(file: string | undefined): string {
  return file === undefined ? '' : ` "${file}"`;
}

/** Parses a `.conflist`. */
export function parseConfList(text: string, file?: string): NetworkConfigList {
  const source = describe(file);
  const raw = parseJsonObject(text, source);
  const parsed = listSchema.safeParse(raw);
  if (!parsed.success) throw invalid(`invalid CNI config${source}: ${issueText(parsed.error)}`);
  const { data } = parsed;
  return {
    name: data.name,
    cniVersion: selectVersionOrThrow(data.cniVersion, data.cniVersions, source),
    disableCheck: data.disableCheck,
    disableGC: data.disableGC,
    plugins: data.plugins.map(toPluginConf),
    bytes: text,
    raw,
    ...(file === undefined ? {} : { file }),
  };
}

/** Parses a single-plugin `.conf`/`.json` and upconverts it to a one-plugin list. */
export function parseConf(text: string, file?: string): NetworkConfigList {
  const source = describe(file);
  const raw = parseJsonObject(text, source);
  const parsed = confSchema.safeParse(raw);
  if (!parsed.success) throw invalid(`invalid CNI config${source}: ${issueText(parsed.error)}`);
  const cniVersion = parsed.data.cniVersion ?? '';
  const listRaw = { cniVersion, name: parsed.data.name, plugins: [raw] };
  return {
    name: parsed.data.name,
    cniVersion,
    disableCheck: false,
    disableGC: false,
    plugins: [toPluginConf(parsed.data)],
    bytes: JSON.stringify(listRaw),
    raw: listRaw,
    ...(file === undefined ? {} : { file }),
  };
}

/**
 * Parses a conf-dir file by its extension. A `.conf`/`.json` that holds a
 * `plugins` array is read as a list, since several tools write lists there.
 */
export function parseConfigFile(text: string, file: string): NetworkConfigList {
  if (file.endsWith('.conflist')) return parseConfList(text, file);
  const raw = parseJsonObject(text, describe(file));
  return Array.isArray(raw['plugins']) && raw['type'] === undefined ? parseConfList(text, file) : parseConf(text, file);
}

function selectVersionOrThrow(cniVersion: string | undefined, cniVersions: string[] | undefined, source: string): string {
  try {
    return selectVersion(cniVersion, cniVersions);
  } catch (err) {
    throw invalid(`invalid CNI config${source}: ${(err as Error).message}`, { cause: err });
  }
}
