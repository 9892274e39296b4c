/** Classifies gRPC failures from containerd into tsnerd's error kinds. */
import { status as Status } from '@grpc/grpc-js';
import { TsnerdError, type ErrorKind } from '../../domain/errors.ts';

export interface CallContext {
  address: string;
  /** Service and method, e.g. "images.Get", for --debug output. */
  method: string;
}

const KIND_BY_CODE: Partial<Record<number, ErrorKind>> = {
  [Status.NOT_FOUND]: 'not-found',
  [Status.ALREADY_EXISTS]: 'conflict',
  [Status.UNAVAILABLE]: 'unavailable',
  [Status.DEADLINE_EXCEEDED]: 'timeout',
  [Status.INVALID_ARGUMENT]: 'invalid',
  [Status.FAILED_PRECONDITION]: 'invalid',
  [Status.OUT_OF_RANGE]: 'invalid',
};

export function cannotConnect(address: string, cause?: unknown): TsnerdError {
  return new TsnerdError('unavailable', `cannot connect to containerd at "${address}": is it running?`, {
    cause,
    details: { address },
  });
}

export function fromGrpcError(err: unknown, ctx: CallContext): TsnerdError {
  if (err instanceof TsnerdError) return err;
  const code = grpcCode(err);
  if (code === undefined) {
    return new TsnerdError('internal', `containerd ${ctx.method}: ${String((err as Error)?.message ?? err)}`, { cause: err });
  }
  const kind = KIND_BY_CODE[code] ?? 'internal';
  if (kind === 'unavailable') return cannotConnect(ctx.address, err);
  const details = (err as { details?: unknown }).details;
  const text = typeof details === 'string' && details !== '' ? details : (Status[code] ?? `code ${code}`);
  const message = kind === 'timeout' ? `containerd did not answer ${ctx.method} in time` : text;
  return new TsnerdError(kind, message, { cause: err, details: { grpcCode: Status[code], method: ctx.method } });
}

function grpcCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}
