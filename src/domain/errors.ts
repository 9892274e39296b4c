/**
 * The one error type of tsnerd. Every failure a user can see is a TsnerdError
 * with a kind from a closed set; the kind decides the exit code and, for
 * adapters, how a foreign error (gRPC status, errno, CNI code) is classified.
 */
export const ERROR_KINDS = [
  'usage', // bad flags or arguments: exit 2
  'invalid', // a value that parses but makes no sense (bad subnet, bad spec)
  'not-found', // no such container, image, network
  'conflict', // already exists, in use, port already allocated
  'unavailable', // containerd or another service cannot be reached
  'plugin', // a CNI plugin reported a failure
  'timeout', // a deadline passed
  'precondition', // the host lacks something we need (plugin binary, kernel feature)
  'internal', // a bug or an unexpected answer from a peer
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface ErrorOptions {
  cause?: unknown;
  /** Extra structured facts, shown with --debug and in JSON output. */
  details?: Record<string, unknown>;
}

export class TsnerdError extends Error {
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsnerdError';
    this.kind = kind;
    this.details = options.details;
  }

  get exitCode(): number {
    return this.kind === 'usage' ? 2 : 1;
  }
}

export function isTsnerdError(err: unknown, kind?: ErrorKind): err is TsnerdError {
  return err instanceof TsnerdError && (kind === undefined || err.kind === kind);
}

/** Shorthands that keep call sites to one line. */
export const usage = (message: string, o?: ErrorOptions) => new TsnerdError('usage', message, o);
export const invalid = (message: string, o?: ErrorOptions) => new TsnerdError('invalid', message, o);
export const notFound = (message: string, o?: ErrorOptions) => new TsnerdError('not-found', message, o);
export const conflict = (message: string, o?: ErrorOptions) => new TsnerdError('conflict', message, o);
export const unavailable = (message: string, o?: ErrorOptions) => new TsnerdError('unavailable', message, o);
export const internal = (message: string, o?: ErrorOptions) => new TsnerdError('internal', message, o);

/**
 * What a full or read-only file system, or a process out of descriptors, makes a system call
 * fail with: the host lacks what the command needs, not a bug.
 */
const HOST_RESOURCE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EMFILE', 'ENFILE']);

/**
 * A failed system call's message as Go and Docker print it, `write /var/lib/tsnerd/…/hosts: no
 * space left on device`, where node's is `ENOSPC: no space left on device, write` (no file when
 * the call took a descriptor). Undefined for anything else.
 */
function systemErrorMessage(err: Error): string | undefined {
  const { code, syscall, path } = err as Error & { code?: unknown; syscall?: unknown; path?: unknown };
  if (typeof code !== 'string' || typeof syscall !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return undefined;
  const text = new RegExp(`^${code}: (.*?), ${syscall}\\b`).exec(err.message)?.[1] ?? code;
  return typeof path === 'string' ? `${syscall} ${path}: ${text}` : `${syscall}: ${text}`;
}

/** Turns anything thrown into a TsnerdError, keeping the original as the cause. */
export function toTsnerdError(err: unknown): TsnerdError {
  if (err instanceof TsnerdError) return err;
  if (err instanceof Error) {
    const system = systemErrorMessage(err);
    const code = (err as { code?: unknown }).code;
    if (system !== undefined) {
      return new TsnerdError(HOST_RESOURCE_ERRORS.has(code as string) ? 'precondition' : 'internal', system, { cause: err });
    }
    return new TsnerdError('internal', err.message, { cause: err });
  }
  return new TsnerdError('internal', String(err));
}

/**
 * Collects failures of best-effort teardown so that cleanup goes on after the
 * first error and everything is reported at the end.
 */
export class ErrorList {
  readonly errors: TsnerdError[] = [];

  add(err: unknown): void {
    this.errors.push(toTsnerdError(err));
  }

  /** Runs fn, recording (not throwing) its failure. */
  async attempt(fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.add(err);
    }
  }

  throwIfAny(): void {
    const [first, ...rest] = this.errors;
    if (!first) return;
    if (rest.length === 0) throw first;
    throw new TsnerdError(first.kind, this.errors.map((e) => e.message).join('; '), {
      cause: first,
    });
  }
}
