/** The CLI's gRPC clients come from protos/containerd-api.json: it must match the .proto files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromJSON, loadSync } from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_FILES, PROTO_JSON } from '../../../src/adapters/containerd/protos.ts';
import { protoDescriptor } from '../../../scripts/gen-proto-json.ts';
import { serviceDefinitions } from '../../../src/adapters/containerd/service-definitions.ts';
import type { MethodDefinition } from '@grpc/grpc-js';

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

test('the lean service definitions match proto-loader’s: paths, streaming, names and wire bytes', () => {
  const json = JSON.parse(readFileSync(PROTO_JSON, 'utf8')) as object;
  const ref = fromJSON(json, LOADER_OPTIONS) as Record<string, Record<string, MethodDefinition<object, object>>>;
  const lean = serviceDefinitions(json, LOADER_OPTIONS) as Record<string, Record<string, MethodDefinition<object, object>>>;
  const services = Object.keys(ref).filter((k) => !('format' in ref[k]!));
  assert.deepEqual(Object.keys(lean).sort(), services.sort());
  for (const s of services) {
    for (const [name, m] of Object.entries(ref[s]!)) {
      const l = lean[s]![name]!;
      assert.deepEqual([l.path, l.requestStream, l.responseStream, l.originalName], [m.path, m.requestStream, m.responseStream, m.originalName]);
    }
  }
  const create = 'containerd.services.containers.v1.Containers';
  const req = { container: { id: 'c1', labels: { a: 'b' }, spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from('{}') } } };
  const bytes = ref[create]!['Create']!.requestSerialize(req);
  assert.deepEqual(lean[create]!['Create']!.requestSerialize(req), bytes);
  assert.deepEqual(lean[create]!['Create']!.requestDeserialize(bytes), ref[create]!['Create']!.requestDeserialize(bytes));
  const list = 'containerd.services.tasks.v1.Tasks';
  const empty = ref[list]!['List']!.responseSerialize({});
  assert.deepEqual(lean[list]!['List']!.responseDeserialize(empty), ref[list]!['List']!.responseDeserialize(empty));
});
