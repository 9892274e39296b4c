/**
 * gRPC service definitions straight from the pre-resolved protobufjs
 * descriptor (protos/containerd-api.json). proto-loader's fromJSON builds the
 * same methods plus file descriptors of every message (reflection data grpc-js
 * clients never read), which cost each CLI start ~35 ms. Serialisation is
 * proto-loader's: fromObject + encode, decode + toObject with the same options,
 * so the generated types still describe what the calls return.
 */
import protobuf from 'protobufjs';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { Options } from '@grpc/proto-loader';

type PackageDefinition = Parameters<typeof import('@grpc/grpc-js').loadPackageDefinition>[0];

export function serviceDefinitions(descriptor: protobuf.INamespace, options: Options): PackageDefinition {
  const root = protobuf.Root.fromJSON(descriptor);
  root.resolveAll();
  const defs: Record<string, ServiceDefinition> = {};
  const visit = (ns: protobuf.NamespaceBase, prefix: string): void => {
    for (const obj of ns.nestedArray) {
      const name = prefix ? `${prefix}.${obj.name}` : obj.name;
      if (obj instanceof protobuf.Service) defs[name] = serviceDefinition(obj, name, options);
      else if (obj instanceof protobuf.Namespace) visit(obj, name);
    }
  };
  visit(root, '');
  return defs;
}

function serviceDefinition(service: protobuf.Service, name: string, options: Options): ServiceDefinition {
  const def: Record<string, MethodDefinition<object, object>> = {};
  for (const m of service.methodsArray) {
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    def[m.name] = {
      path: `/${name}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: serializer(req),
      requestDeserialize: deserializer(req, options),
      responseSerialize: serializer(res),
      responseDeserialize: deserializer(res, options),
      // grpc-js also exposes each method under this name, as with proto-loader
      originalName: camelCase(m.name),
    };
  }
  return def;
}

/** lodash's camelCase on a method name, as proto-loader: CloseIO -> closeIo. */
function camelCase(name: string): string {
  const words = name.match(/[A-Z]{2,}(?=[A-Z][a-z]|\b|\d)|[A-Z]?[a-z]+|[A-Z]+|\d+/g) ?? [name];
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : `${w.charAt(0).toUpperCase()}${w.slice(1).toLowerCase()}`)).join('');
}

const serializer = (type: protobuf.Type) => (value: object): Buffer => type.encode(type.fromObject(value)).finish() as Buffer;
const deserializer = (type: protobuf.Type, options: Options) => (buf: Buffer): object => type.toObject(type.decode(buf), options);
