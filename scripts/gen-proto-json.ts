/**
 * Writes protos/containerd-api.json, the resolved protobufjs descriptor of our
 * containerd .proto files. The CLI builds its gRPC clients from it
 * (proto-loader's fromJSON) instead of parsing ten .proto files on every start
 * (~25 ms). Run by `npm run gen:protos`; a unit test checks it is current.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_FILES, PROTO_JSON, PROTO_ROOT } from '../src/adapters/containerd/protos.ts';

/** The descriptor of our .proto files, loaded the way proto-loader's loadSync loads them. */
export function protoDescriptor(): unknown {
  const root = new protobuf.Root();
  // Not ours (google/protobuf/*): protobufjs's bundled well-known types.
  root.resolvePath = (_origin, target) => (existsSync(join(PROTO_ROOT, target)) ? join(PROTO_ROOT, target) : target);
  root.loadSync([...PROTO_FILES], { keepCase: true });
  root.resolveAll();
  return root.toJSON();
}

if (import.meta.main) writeFileSync(PROTO_JSON, `${JSON.stringify(protoDescriptor())}\n`);
