import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { fromGrpcError } from '../../../src/adapters/containerd/grpc-errors.ts';
import { TsnerdError } from '../../../src/domain/errors.ts';

const ctx = { address: '/run/c.sock', method: 'images.Get' };
const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });

test("gRPC status codes become tsnerd error kinds, keeping containerd's words", () => {
  const cases: [number, string][] = [
    [status.NOT_FOUND, 'not-found'],
    [status.ALREADY_EXISTS, 'conflict'],
    [status.INVALID_ARGUMENT, 'invalid'],
    [status.FAILED_PRECONDITION, 'invalid'],
    [status.UNKNOWN, 'internal'],
  ];
  for (const [code, kind] of cases) {
    const err = fromGrpcError(grpcError(code, 'image "x": not found'), ctx);
    assert.equal(err.kind, kind, status[code]);
    assert.equal(err.message, 'image "x": not found');
  }
});

test('UNAVAILABLE says containerd cannot be reached at the address', () => {
  const err = fromGrpcError(grpcError(status.UNAVAILABLE, 'No connection established'), ctx);
  assert.equal(err.kind, 'unavailable');
  assert.equal(err.message, 'cannot connect to containerd at "/run/c.sock": is it running?');
});

test('DEADLINE_EXCEEDED is a timeout naming the call', () => {
  const err = fromGrpcError(grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), ctx);
  assert.equal(err.kind, 'timeout');
  assert.match(err.message, /images\.Get/);
});

test('tsnerd errors pass through; other throwables are internal', () => {
  const own = new TsnerdError('conflict', 'x');
  assert.equal(fromGrpcError(own, ctx), own);
  assert.equal(fromGrpcError(new Error('boom'), ctx).kind, 'internal');
});
