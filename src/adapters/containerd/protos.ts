/**
 * Where our containerd .proto declarations live and how they are loaded. The
 * generated types (npm run gen:protos) are made with these same options, and
 * the clients convert messages with them as proto-loader would, so what the
 * calls return matches the types.
 */
import { fileURLToPath } from 'node:url';
import type { Options } from '@grpc/proto-loader';

// src/adapters/containerd and dist/adapters/containerd are both three levels below the package root.
export const PROTO_ROOT = fileURLToPath(new URL('../../../protos', import.meta.url));

export const PROTO_FILES = [
  'containerd/services/containers/v1/containers.proto',
  'containerd/services/content/v1/content.proto',
  'containerd/services/diff/v1/diff.proto',
  'containerd/services/events/v1/events.proto',
  'containerd/services/images/v1/images.proto',
  'containerd/services/leases/v1/leases.proto',
  'containerd/services/namespaces/v1/namespace.proto',
  'containerd/services/snapshots/v1/snapshots.proto',
  'containerd/services/tasks/v1/tasks.proto',
  'containerd/services/version/v1/version.proto',
] as const;

export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};
