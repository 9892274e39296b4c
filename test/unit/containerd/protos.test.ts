/**
 * Our containerd .proto declarations must match containerd 1.6's published
 * ones on the wire: same packages, services, methods, field numbers and types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_FILES, PROTO_ROOT } from '../../../src/adapters/containerd/protos.ts';

const GOCODE = '/usr/share/gocode/src';
const REFERENCE_API = join(GOCODE, 'github.com/containerd/containerd/api');

/** Reference files by our file name: containerd/X -> api/X. */
const referenceFile = (ours: string) => join(REFERENCE_API, ours.replace(/^containerd\//, ''));

function loadRoot(files: string[], resolveImport: (origin: string, target: string) => string): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = resolveImport;
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

function ours(): protobuf.Root {
  return loadRoot([...PROTO_FILES], (_origin, target) =>
    target.startsWith('google/protobuf/') || target.startsWith('/') ? target : join(PROTO_ROOT, target),
  );
}

function reference(): protobuf.Root {
  return loadRoot(PROTO_FILES.map(referenceFile), (_origin, target) => {
    // gogo.proto extends descriptor.proto, which protobufjs does not bundle.
    if (target === 'google/protobuf/descriptor.proto') return join(GOCODE, 'github.com/gogo/protobuf/protobuf', target);
    if (target.startsWith('/') || target.startsWith('google/protobuf/')) return target;
    if (target.startsWith('gogoproto/')) return join(GOCODE, 'github.com/gogo/protobuf', target);
    return join(GOCODE, target);
  });
}

function* walk(ns: protobuf.NamespaceBase): Generator<protobuf.ReflectionObject> {
  for (const obj of ns.nestedArray) {
    yield obj;
    if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type || obj instanceof protobuf.Service) {
      yield* walk(obj as protobuf.NamespaceBase);
    }
  }
}

const isContainerd = (obj: protobuf.ReflectionObject) => obj.fullName.startsWith('.containerd.');

function fieldType(f: protobuf.Field): string {
  f.resolve();
  return f.resolvedType ? f.resolvedType.fullName : f.type;
}

function mapKey(f: protobuf.Field): string | undefined {
  return f instanceof protobuf.MapField ? f.keyType : undefined;
}

test('the reference containerd protos are installed', () => {
  for (const f of PROTO_FILES) assert.ok(existsSync(referenceFile(f)), referenceFile(f));
});

test('every message field has the number, type and label of containerd 1.6', () => {
  const ref = reference();
  let checked = 0;
  for (const obj of walk(ours())) {
    if (!(obj instanceof protobuf.Type) || !isContainerd(obj)) continue;
    const theirs = ref.lookupType(obj.fullName);
    for (const field of obj.fieldsArray) {
      const other = theirs.fields[field.name];
      assert.ok(other, `${obj.fullName}.${field.name} does not exist in containerd`);
      const where: string = `${obj.fullName}.${field.name}`;
      assert.equal(field.id, other.id, `${where}: field number`);
      assert.equal(fieldType(field), fieldType(other), `${where}: type`);
      assert.equal(field.repeated, other.repeated, `${where}: repeated`);
      assert.equal(mapKey(field), mapKey(other), `${where}: map key`);
      checked++;
    }
  }
  assert.ok(checked > 100, `only ${checked} fields checked`);
});

test('every enum value has the number of containerd 1.6', () => {
  const ref = reference();
  for (const obj of walk(ours())) {
    if (!(obj instanceof protobuf.Enum) || !isContainerd(obj)) continue;
    assert.deepEqual(obj.values, ref.lookupEnum(obj.fullName).values, obj.fullName);
  }
});

test('every service method has the request, response and streaming of containerd 1.6', () => {
  const ref = reference();
  let methods = 0;
  for (const obj of walk(ours())) {
    if (!(obj instanceof protobuf.Service)) continue;
    const theirs = ref.lookupService(obj.fullName);
    for (const m of obj.methodsArray) {
      const other = theirs.methods[m.name];
      assert.ok(other, `${obj.fullName}.${m.name} does not exist in containerd`);
      m.resolve();
      other.resolve();
      assert.equal(m.resolvedRequestType?.fullName, other.resolvedRequestType?.fullName, `${m.fullName} request`);
      assert.equal(m.resolvedResponseType?.fullName, other.resolvedResponseType?.fullName, `${m.fullName} response`);
      assert.equal(Boolean(m.requestStream), Boolean(other.requestStream), `${m.fullName} request stream`);
      assert.equal(Boolean(m.responseStream), Boolean(other.responseStream), `${m.fullName} response stream`);
      methods++;
    }
  }
  assert.ok(methods > 40, `only ${methods} methods checked`);
});
