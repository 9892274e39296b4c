/** The CLI's gRPC clients come from protos/containerd-api.json: it must match the .proto files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromJSON, loadSync } from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_FILES, PROTO_JSON } from '../../../src/adapters/containerd/protos.ts';
import { protoDescriptor } from '../../../scripts/gen-proto-json.ts';

test('protos/containerd-api.json is current (npm run gen:protos rewrites it)', () => {
  assert.deepEqual(JSON.parse(readFileSync(PROTO_JSON, 'utf8')), protoDescriptor());
});

test('the JSON descriptor yields the same services and methods as parsing the .proto files', () => {
  const methods = (def: ReturnType<typeof loadSync>) =>
    Object.entries(def)
      .filter(([, v]) => !('format' in v))
      .flatMap(([service, v]) => Object.values(v as Record<string, { path: string }>).map((m) => `${service} ${m.path}`))
      .sort();
  const parsed = loadSync([...PROTO_FILES], LOADER_OPTIONS);
  const fromDescriptor = fromJSON(JSON.parse(readFileSync(PROTO_JSON, 'utf8')) as object, LOADER_OPTIONS);
  assert.ok(methods(parsed).length > 40);
  assert.deepEqual(methods(fromDescriptor), methods(parsed));
  assert.deepEqual(Object.keys(fromDescriptor).sort(), Object.keys(parsed).sort());
});
