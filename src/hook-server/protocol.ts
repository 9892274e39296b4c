/**
 * The hook server's wire format (the client is src/hook-server/hook-client.pl):
 * netstrings, `<decimal length>:<bytes>,`, so that the perl client needs no JSON
 * module. A request: "tsnerd-hook-1", the argument count and each argument (the
 * event, then the global flags), the environment entry count and each
 * `NAME=value`, then the hook's stdin (the OCI state). The answer: ACK as soon as
 * the server takes the request (before it runs anything: a client without it may
 * run the hook itself), then the exit code and the stderr text, and the end of
 * the connection. Pure: Buffers only.
 */

export const PROTOCOL = 'tsnerd-hook-1';
/** The one byte a server sends when it takes a request. */
export const ACK = 'A';

/** A request larger than this is refused (an OCI state is a few KB; the environment some more). */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
const MAX_ENTRIES = 65536;

export interface HookWireRequest {
  args: string[];
  env: Record<string, string>;
  stdin: string;
}

export interface HookWireReply {
  code: number;
  stderr: string;
}

export class ProtocolError extends Error {}

export function netstring(value: string | number | Buffer): Buffer {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length}:`), bytes, Buffer.from(',')]);
}

export function encodeRequest(r: HookWireRequest): Buffer {
  const env = Object.entries(r.env).map(([k, v]) => `${k}=${v}`);
  return Buffer.concat([
    netstring(PROTOCOL),
    netstring(r.args.length),
    ...r.args.map(netstring),
    netstring(env.length),
    ...env.map(netstring),
    netstring(r.stdin),
  ]);
}

export function encodeReply(r: HookWireReply): Buffer {
  return Buffer.concat([netstring(r.code), netstring(r.stderr)]);
}

/** Reads netstrings from a buffer that may still be incomplete. */
export class Reader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** The next field's bytes; undefined when the buffer ends before it does; ProtocolError when it is malformed. */
  next(): Buffer | undefined {
    const colon = this.buf.indexOf(0x3a, this.pos);
    const digits = colon < 0 ? this.buf.subarray(this.pos) : this.buf.subarray(this.pos, colon);
    if (digits.length > 10 || !/^\d*$/.test(digits.toString('latin1'))) throw new ProtocolError('a field length is not a number');
    if (colon < 0) return undefined;
    if (digits.length === 0) throw new ProtocolError('a field has no length');
    const length = Number(digits.toString('latin1'));
    if (length > MAX_REQUEST_BYTES) throw new ProtocolError(`a field of ${length} bytes is too large`);
    const start = colon + 1;
    if (this.buf.length < start + length + 1) return undefined;
    if (this.buf[start + length] !== 0x2c) throw new ProtocolError('a field does not end with ","');
    this.pos = start + length + 1;
    return this.buf.subarray(start, start + length);
  }

  count(what: string): number | undefined {
    const field = this.next();
    if (field === undefined) return undefined;
    const text = field.toString('latin1');
    if (!/^\d{1,6}$/.test(text) || Number(text) > MAX_ENTRIES) throw new ProtocolError(`bad ${what} count ${JSON.stringify(text)}`);
    return Number(text);
  }

  get rest(): number {
    return this.buf.length - this.pos;
  }
}

/** The argument count and arguments, then the environment count and `NAME=value` entries (both protocols); undefined while more is to come. */
export function readArgsAndEnv(r: Reader): { args: string[]; env: Record<string, string> } | undefined {
  const argc = r.count('argument');
  if (argc === undefined) return undefined;
  const args: string[] = [];
  for (let i = 0; i < argc; i++) {
    const a = r.next();
    if (a === undefined) return undefined;
    args.push(a.toString('utf8'));
  }
  const envc = r.count('environment');
  if (envc === undefined) return undefined;
  const env: Record<string, string> = {};
  for (let i = 0; i < envc; i++) {
    const e = r.next();
    if (e === undefined) return undefined;
    const text = e.toString('utf8');
    const eq = text.indexOf('=');
    if (eq <= 0) throw new ProtocolError(`an environment entry without a name: ${JSON.stringify(text.slice(0, 40))}`);
    env[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return { args, env };
}

/** The request in buf; undefined while more is to come; ProtocolError when it is not one (the server then refuses it). */
export function decodeRequest(buf: Buffer): HookWireRequest | undefined {
  if (buf.length > MAX_REQUEST_BYTES) throw new ProtocolError(`a request of more than ${MAX_REQUEST_BYTES} bytes`);
  const r = new Reader(buf);
  const version = r.next();
  if (version === undefined) return undefined;
  if (version.toString('latin1') !== PROTOCOL) throw new ProtocolError(`unknown protocol ${JSON.stringify(version.toString('latin1'))}`);
  const fields = readArgsAndEnv(r);
  if (fields === undefined) return undefined;
  const stdin = r.next();
  if (stdin === undefined) return undefined;
  if (r.rest !== 0) throw new ProtocolError('bytes after the request');
  return { ...fields, stdin: stdin.toString('utf8') };
}

/**
 * A server's answer as the client reads it: `taken` once ACK came; the reply once
 * it is complete. A connection that ended taken but without a reply means the
 * server died while running the hook.
 */
export function decodeReply(buf: Buffer): { taken: boolean; reply?: HookWireReply } {
  if (buf.length === 0 || buf[0] !== ACK.charCodeAt(0)) return { taken: false };
  try {
    const r = new Reader(buf.subarray(1));
    const code = r.next();
    const stderr = code === undefined ? undefined : r.next();
    if (code === undefined || stderr === undefined || !/^\d{1,3}$/.test(code.toString('latin1'))) return { taken: true };
    return { taken: true, reply: { code: Number(code.toString('latin1')), stderr: stderr.toString('utf8') } };
  } catch {
    return { taken: true };
  }
}
