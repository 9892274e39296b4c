/**
 * The CLI's gRPC clients serialise with protobufjs static code
 * (generated/containerd-static.ts). It must match the .proto files and give
 * the bytes and objects proto-loader gives with the same options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/grpc-js';
import { LOADER_OPTIONS, PROTO_FILES } from '../../../src/adapters/containerd/protos.ts';
import { serviceDefinitions } from '../../../src/adapters/containerd/service-definitions.ts';
import { STATIC_MODULE, loadRoot, staticModule } from '../../../scripts/gen-proto-static.ts';

type Defs = Record<string, Record<string, MethodDefinition<object, object>>>;

const ref = loadSync([...PROTO_FILES], LOADER_OPTIONS) as unknown as Defs;
const lean = serviceDefinitions(LOADER_OPTIONS) as Defs;
const services = Object.keys(ref).filter((k) => !('format' in ref[k]!));
const root = loadRoot();

test('generated/containerd-static.ts is current (npm run gen:protos rewrites it)', async () => {
  assert.equal(readFileSync(STATIC_MODULE, 'utf8'), await staticModule());
});

test('the service definitions match proto-loader’s: services, paths, streaming and names', () => {
  assert.ok(services.length === 10);
  assert.deepEqual(Object.keys(lean).sort(), [...services].sort());
  let methods = 0;
  for (const s of services) {
    assert.deepEqual(Object.keys(lean[s]!).sort(), Object.keys(ref[s]!).sort(), s);
    for (const [name, m] of Object.entries(ref[s]!)) {
      const l = lean[s]![name]!;
      assert.deepEqual(
        [l.path, l.requestStream, l.responseStream, l.originalName],
        [m.path, m.requestStream, m.responseStream, m.originalName],
      );
      methods++;
    }
  }
  assert.ok(methods > 40);
});

/** A value for every field of a message (the first member of each oneof), none of them a default. */
function sample(type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    f.resolve();
    if (f.partOf && f.partOf.fieldsArray[0] !== f) continue;
    const one = (): unknown => {
      if (f.resolvedType instanceof protobuf.Type) return depth < 4 ? sample(f.resolvedType, depth + 1) : {};
      if (f.resolvedType instanceof protobuf.Enum) return Object.keys(f.resolvedType.values).at(-1);
      switch (f.type) {
        case 'string':
          return `${f.name}-x`;
        case 'bytes':
          return Buffer.from(f.name);
        case 'bool':
          return true;
        case 'double':
        case 'float':
          return 2.5;
        case 'int64':
        case 'uint64':
        case 'sint64':
        case 'fixed64':
        case 'sfixed64':
          return '9007199254740993';
        default:
          return 7;
      }
    };
    if (f instanceof protobuf.MapField) out[f.name] = { k1: one(), k2: one() };
    else out[f.name] = f.repeated ? [one(), one()] : one();
  }
  return out;
}

test('every request and response: the same bytes and the same objects as proto-loader', () => {
  let checked = 0;
  for (const s of services) {
    const service = root.lookupService(s);
    for (const m of service.methodsArray) {
      const r = ref[s]![m.name]!;
      const l = lean[s]![m.name]!;
      const pairs = [
        [m.resolvedRequestType!, r.requestSerialize, r.requestDeserialize, l.requestSerialize, l.requestDeserialize],
        [m.resolvedResponseType!, r.responseSerialize, r.responseDeserialize, l.responseSerialize, l.responseDeserialize],
      ] as const;
      for (const [type, refSer, refDe, leanSer, leanDe] of pairs) {
        const where = `${m.fullName} ${type.fullName}`;
        const value = sample(type);
        const bytes = refSer(value);
        assert.deepEqual(leanSer(value), bytes, where);
        assert.deepEqual(leanDe(bytes), refDe(bytes), where);
        // defaults filled in: an empty message
        assert.deepEqual(leanDe(Buffer.alloc(0)), refDe(Buffer.alloc(0)), `${where} (empty)`);
        checked++;
      }
    }
  }
  assert.ok(checked > 80, `only ${checked} messages checked`);
});

const method = (service: string, name: string) => lean[`containerd.services.${service}`]![name]!;

test('containers.Create with an OCI spec: round trip, keepCase names and defaults', () => {
  const create = method('containers.v1.Containers', 'Create');
  const spec = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from('{"ociVersion":"1.0.2"}') };
  const req = {
    container: {
      id: 'c1',
      labels: { 'nerdctl/name': 'web' },
      image: 'busybox',
      runtime: { name: 'io.containerd.runc.v2' },
      spec,
      snapshotter: 'overlayfs',
      snapshot_key: 'c1',
    },
  };
  const back = create.requestDeserialize(create.requestSerialize(req)) as { container: Record<string, unknown> };
  assert.deepEqual(back.container, {
    ...req.container,
    runtime: { name: 'io.containerd.runc.v2', options: null },
    created_at: null,
    updated_at: null,
    extensions: {},
  });
  const res = { container: { ...req.container, created_at: { seconds: '1700000000', nanos: 5 } } };
  const out = create.responseDeserialize(create.responseSerialize(res)) as { container: { created_at: unknown; spec: unknown } };
  assert.deepEqual(out.container.created_at, { seconds: '1700000000', nanos: 5 });
  assert.deepEqual(out.container.spec, spec);
});

test('tasks.Create with rootfs mounts: round trip', () => {
  const create = method('tasks.v1.Tasks', 'Create');
  const req = {
    container_id: 'c1',
    rootfs: [{ type: 'overlay', source: 'overlay', target: '', options: ['lowerdir=/a:/b', 'upperdir=/u', 'workdir=/w'] }],
    stdout: '/run/fifo/out',
    terminal: false,
  };
  const back = create.requestDeserialize(create.requestSerialize(req)) as Record<string, unknown>;
  assert.deepEqual(back['rootfs'], req.rootfs);
  assert.equal(back['container_id'], 'c1');
  assert.equal(back['stdin'], '');
  assert.equal(back['terminal'], false);
  assert.equal(back['checkpoint'], null);
  const res = create.responseDeserialize(create.responseSerialize({ container_id: 'c1', pid: 4242 }));
  assert.deepEqual(res, { container_id: 'c1', pid: 4242 });
});

test('images.Get: int64 as strings, timestamps and descriptor annotations', () => {
  const get = method('images.v1.Images', 'Get');
  const image = {
    name: 'docker.io/library/busybox:latest',
    labels: {},
    target: {
      media_type: 'application/vnd.oci.image.index.v1+json',
      digest: 'sha256:abc',
      size: '9007199254740993',
      annotations: { a: 'b' },
    },
    created_at: { seconds: '1700000000', nanos: 1 },
    updated_at: { seconds: '1700000001', nanos: 0 },
  };
  assert.deepEqual(get.responseDeserialize(get.responseSerialize({ image })), { image });
  assert.deepEqual(get.requestDeserialize(get.requestSerialize({ name: image.name })), { name: image.name });
  assert.deepEqual(get.responseDeserialize(Buffer.alloc(0)), { image: null });
});

test('snapshots.Stat: enums as strings', () => {
  const stat = method('snapshots.v1.Snapshots', 'Stat');
  const info = stat.responseDeserialize(stat.responseSerialize({ info: { name: 's1', kind: 'COMMITTED' } })) as { info: { kind: string } };
  assert.equal(info.info.kind, 'COMMITTED');
});
