/**
 * Promise and async-iterator faces for the callback/stream API of grpc-js.
 * Every call carries the containerd namespace; unary calls get a deadline.
 */
import {
  Metadata,
  type CallOptions,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type requestCallback,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { fromGrpcError, type CallContext } from './grpc-errors.ts';

export interface CallOpts {
  /**
   * Deadline in milliseconds. Unary calls default to the client's timeout;
   * Infinity waits forever (tasks.Wait). Streams have none unless given.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Overrides the client's namespace for this call. */
  namespace?: string;
}

/** A bidirectional stream used in lock step: each request gets one response. */
export interface DuplexCall<Req, Res> {
  exchange(req: Req): Promise<Res>;
  /** Half-closes the stream and waits for the server to finish it. */
  end(): Promise<void>;
  cancel(): void;
}

type UnaryFn<Req, Res> = (req: Req, opts?: CallOpts) => Promise<Res>;
type ServerStreamFn<Req, Res> = (req: Req, opts?: CallOpts) => AsyncIterable<Res>;
type DuplexFn<Req, Res> = (opts?: CallOpts) => DuplexCall<Req, Res>;

// TypeScript infers from the last overload of each generated method, which is
// the shortest one: (options?) or (argument, options?) or (argument, callback).
// Streams are tested first: a stream is also structurally a unary call object.
type Wrap<F> = F extends (options?: CallOptions) => ClientDuplexStream<infer Req, infer Res>
  ? DuplexFn<Req, Res>
  : F extends (argument: infer Req, options?: CallOptions) => ClientReadableStream<infer Res>
    ? ServerStreamFn<Req, Res>
    : F extends (argument: infer Req, callback: requestCallback<infer Res>) => ClientUnaryCall
      ? UnaryFn<Req, Res>
      : never;

/** The methods of a generated grpc-js client (the capitalised ones) as promises and iterators. */
export type Service<C> = {
  [K in keyof C as K extends string ? (K extends Capitalize<K> ? (K extends keyof Client ? never : K) : never) : never]: Wrap<C[K]>;
};

export interface CallDefaults {
  address: string;
  namespace: string;
  timeoutMs: number;
  /** Short service name for messages, e.g. "images". */
  service: string;
  /** A containerd lease that protects everything the calls create from GC. */
  lease?: string | undefined;
}

type RawClient = Record<string, (...args: unknown[]) => unknown>;

export function wrapService<C>(client: Client, definition: ServiceDefinition, defaults: CallDefaults): Service<C> {
  const raw = client as unknown as RawClient;
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const ctx: CallContext = { address: defaults.address, method: `${defaults.service}.${name}` };
    const fn = raw[name]!.bind(client);
    if (method.requestStream && method.responseStream) {
      wrapped[name] = (opts?: CallOpts) => duplex(fn, ctx, defaults, opts);
    } else if (method.responseStream) {
      wrapped[name] = (req: unknown, opts?: CallOpts) => serverStream(fn, req, ctx, defaults, opts);
    } else if (!method.requestStream) {
      wrapped[name] = (req: unknown, opts?: CallOpts) => unary(fn, req, ctx, defaults, opts);
    }
  }
  return wrapped as Service<C>;
}

function metadataFor(defaults: CallDefaults, opts: CallOpts | undefined): Metadata {
  const md = new Metadata();
  md.set('containerd-namespace', opts?.namespace ?? defaults.namespace);
  if (defaults.lease) md.set('containerd-lease', defaults.lease);
  return md;
}

function deadline(timeoutMs: number | undefined): CallOptions {
  return timeoutMs === undefined || timeoutMs === Infinity ? {} : { deadline: Date.now() + timeoutMs };
}

type AnyFn = (...args: unknown[]) => unknown;

/** TSNERD_TRACE=1: each unary call's end (ms since start) and duration on stderr (docs/performance.md). */
const TRACE = Boolean(process.env['TSNERD_TRACE']);

function unary(fn: AnyFn, req: unknown, ctx: CallContext, defaults: CallDefaults, opts?: CallOpts): Promise<unknown> {
  if (!TRACE) return unaryCall(fn, req, ctx, defaults, opts);
  const t0 = performance.now();
  const p = unaryCall(fn, req, ctx, defaults, opts);
  const report = (): void =>
    void process.stderr.write(
      `tsnerd trace: +${performance.now().toFixed(0)}ms grpc ${ctx.method} ${(performance.now() - t0).toFixed(1)}ms\n`,
    );
  p.then(report, report);
  return p;
}

function unaryCall(fn: AnyFn, req: unknown, ctx: CallContext, defaults: CallDefaults, opts?: CallOpts): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (opts?.signal?.aborted) return reject(fromGrpcError(opts.signal.reason, ctx));
    const call = fn(req, metadataFor(defaults, opts), deadline(opts?.timeoutMs ?? defaults.timeoutMs), (err: unknown, res: unknown) =>
      err ? reject(fromGrpcError(err, ctx)) : resolve(res),
    ) as ClientUnaryCall;
    opts?.signal?.addEventListener('abort', () => call.cancel(), { once: true });
  });
}

async function* serverStream(fn: AnyFn, req: unknown, ctx: CallContext, defaults: CallDefaults, opts?: CallOpts): AsyncGenerator<unknown> {
  const call = fn(req, metadataFor(defaults, opts), deadline(opts?.timeoutMs)) as ClientReadableStream<unknown>;
  const onAbort = () => call.cancel();
  opts?.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const msg of call) yield msg;
  } catch (err) {
    throw fromGrpcError(err, ctx);
  } finally {
    opts?.signal?.removeEventListener('abort', onAbort);
    // Stops the server side when the consumer leaves the loop early.
    call.cancel();
  }
}

function duplex(fn: AnyFn, ctx: CallContext, defaults: CallDefaults, opts?: CallOpts): DuplexCall<unknown, unknown> {
  const call = fn(metadataFor(defaults, opts), deadline(opts?.timeoutMs)) as ClientDuplexStream<unknown, unknown>;
  const waiting: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  let failure: unknown;
  let ended = false;
  const finished = new Promise<void>((resolve, reject) => {
    call.on('status', () => {
      ended = true;
      const err = failure ?? fromGrpcError(new Error('stream ended before an answer'), ctx);
      for (const w of waiting.splice(0)) w.reject(err);
      resolve();
    });
    call.on('error', (err) => {
      failure = fromGrpcError(err, ctx);
      for (const w of waiting.splice(0)) w.reject(failure);
      reject(failure);
    });
  });
  finished.catch(() => {});
  call.on('data', (msg) => waiting.shift()?.resolve(msg));
  opts?.signal?.addEventListener('abort', () => call.cancel(), { once: true });
  return {
    exchange(req) {
      if (failure) return Promise.reject(failure);
      if (ended) return Promise.reject(fromGrpcError(new Error('stream already ended'), ctx));
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        call.write(req);
      });
    },
    async end() {
      call.end();
      await finished;
    },
    cancel() {
      call.cancel();
    },
  };
}
