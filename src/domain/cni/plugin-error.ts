/**
 * A failed plugin call, decoded as libcni's RawExec.pluginErr does: error JSON
 * on stdout, else stderr text, else the exit status.
 */
import { TsnerdError } from '../errors.ts';

export const CNI_VERBS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'] as const;
export type CniVerb = (typeof CNI_VERBS)[number];

/** SPEC §6 well-known codes the runtime acts on. */
export const CNI_ERR_INCOMPATIBLE_VERSION = 1;
export const CNI_ERR_UNKNOWN = 0;

export interface CniPluginErrorFields {
  pluginType: string;
  verb: CniVerb;
  code: number;
  msg: string;
  cniDetails?: string;
  stderr?: string;
}

export class CniPluginError extends TsnerdError {
  readonly pluginType: string;
  readonly verb: CniVerb;
  readonly code: number;
  readonly msg: string;
  readonly cniDetails: string | undefined;

  constructor(fields: CniPluginErrorFields, options: { cause?: unknown } = {}) {
    const text = fields.cniDetails ? `${fields.msg}; ${fields.cniDetails}` : fields.msg;
    super('plugin', `plugin "${fields.pluginType}" failed (${fields.verb.toLowerCase()}): ${text}`, {
      ...options,
      details: { ...fields },
    });
    this.name = 'CniPluginError';
    this.pluginType = fields.pluginType;
    this.verb = fields.verb;
    this.code = fields.code;
    this.msg = fields.msg;
    this.cniDetails = fields.cniDetails;
  }
}

export interface PluginFailure {
  pluginType: string;
  verb: CniVerb;
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  signal?: string | undefined;
}

export function decodePluginFailure(f: PluginFailure): CniPluginError {
  const base = { pluginType: f.pluginType, verb: f.verb };
  const stdout = f.stdout.trim();
  const stderr = f.stderr.trim();
  const status = f.signal ? `killed by ${f.signal}` : `exit status ${f.exitCode ?? 'unknown'}`;
  if (stdout !== '') {
    const error = parseErrorJson(stdout);
    if (error) return new CniPluginError({ ...base, ...error, ...(stderr ? { stderr } : {}) });
    return new CniPluginError({
      ...base,
      code: CNI_ERR_UNKNOWN,
      msg: `unreadable error message ${JSON.stringify(truncate(stdout))}`,
      cniDetails: status,
    });
  }
  if (stderr !== '') return new CniPluginError({ ...base, code: CNI_ERR_UNKNOWN, msg: truncate(stderr), cniDetails: status });
  return new CniPluginError({ ...base, code: CNI_ERR_UNKNOWN, msg: `no error message, ${status}` });
}

function parseErrorJson(text: string): Pick<CniPluginErrorFields, 'code' | 'msg' | 'cniDetails'> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, msg, details } = value as Record<string, unknown>;
  if (typeof code !== 'number' || (typeof msg !== 'string' && typeof details !== 'string')) return undefined;
  return {
    code,
    msg: typeof msg === 'string' && msg !== '' ? msg : String(details),
    ...(typeof details === 'string' && details !== '' && details !== msg && msg ? { cniDetails: details } : {}),
  };
}

const truncate = (s: string, max = 2000): string => (s.length > max ? `${s.slice(0, max)}…` : s);
