/**
 * gRPC service definitions from protobufjs static code (generated/containerd-static.ts,
 * npm run gen:protos). Building reflection types from a descriptor and compiling
 * their encoders cost each CLI start ~45 ms. Serialisation is proto-loader's:
 * fromObject + encode, decode + toObject with the same options, so the generated
 * types still describe what the calls return.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { Options } from '@grpc/proto-loader';
import { services, type MessageCodec } from './generated/containerd-static.ts';

type PackageDefinition = Parameters<typeof import('@grpc/grpc-js').loadPackageDefinition>[0];

export function serviceDefinitions(options: Options): PackageDefinition {
  const defs: Record<string, ServiceDefinition> = {};
  for (const [name, methods] of Object.entries(services)) {
    const def: Record<string, MethodDefinition<object, object>> = {};
    for (const [method, m] of Object.entries(methods)) {
      def[method] = {
        path: `/${name}/${method}`,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        requestSerialize: serializer(m.requestType),
        requestDeserialize: deserializer(m.requestType, options),
        responseSerialize: serializer(m.responseType),
        responseDeserialize: deserializer(m.responseType, options),
        // grpc-js also exposes each method under this name, as with proto-loader
        originalName: m.originalName,
      };
    }
    defs[name] = def;
  }
  return defs;
}

const serializer =
  (type: MessageCodec) =>
  (value: object): Buffer =>
    type.encode(type.fromObject(value)).finish() as Buffer;
const deserializer =
  (type: MessageCodec, options: Options) =>
  (buf: Buffer): object =>
    type.toObject(type.decode(buf), options);
