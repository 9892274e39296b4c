/**
 * containerd over its gRPC API on a unix socket. One channel is shared by all
 * services; each service is exposed as promise/iterator methods (see calls.ts).
 */
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { credentials, loadPackageDefinition, type ChannelCredentials, type ChannelOptions, type Client, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_FILES, PROTO_ROOT } from './protos.ts';
import { cannotConnect } from './grpc-errors.ts';
import { wrapService, type Service } from './calls.ts';
import type { ProtoGrpcType as ContainersProto } from './generated/containers.ts';
import type { ProtoGrpcType as ContentProto } from './generated/content.ts';
import type { ProtoGrpcType as DiffProto } from './generated/diff.ts';
import type { ProtoGrpcType as EventsProto } from './generated/events.ts';
import type { ProtoGrpcType as ImagesProto } from './generated/images.ts';
import type { ProtoGrpcType as LeasesProto } from './generated/leases.ts';
import type { ProtoGrpcType as NamespacesProto } from './generated/namespace.ts';
import type { ProtoGrpcType as SnapshotsProto } from './generated/snapshots.ts';
import type { ProtoGrpcType as TasksProto } from './generated/tasks.ts';
import type { ProtoGrpcType as VersionProto } from './generated/version.ts';
import type { ContainersClient } from './generated/containerd/services/containers/v1/Containers.ts';
import type { ContentClient } from './generated/containerd/services/content/v1/Content.ts';
import type { DiffClient } from './generated/containerd/services/diff/v1/Diff.ts';
import type { EventsClient } from './generated/containerd/services/events/v1/Events.ts';
import type { ImagesClient } from './generated/containerd/services/images/v1/Images.ts';
import type { LeasesClient } from './generated/containerd/services/leases/v1/Leases.ts';
import type { NamespacesClient } from './generated/containerd/services/namespaces/v1/Namespaces.ts';
import type { SnapshotsClient } from './generated/containerd/services/snapshots/v1/Snapshots.ts';
import type { TasksClient } from './generated/containerd/services/tasks/v1/Tasks.ts';
import type { VersionClient } from './generated/containerd/services/version/v1/Version.ts';

type Api = ContainersProto & ContentProto & DiffProto & EventsProto & ImagesProto & LeasesProto &
  NamespacesProto & SnapshotsProto & TasksProto & VersionProto;

export interface ContainerdOptions {
  /** Socket path, with or without the unix:// scheme. */
  address: string;
  namespace: string;
  /** Default deadline of unary calls. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

type ServiceConstructor<C> = (new (address: string, creds: ChannelCredentials, options?: ChannelOptions) => C) & {
  service: ServiceDefinition;
};

let api: Api | undefined;

function loadApi(): Api {
  // The one cast: proto-loader's runtime object is described by the generated types.
  api ??= loadPackageDefinition(loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [PROTO_ROOT] })) as unknown as Api;
  return api;
}

export class ContainerdClient {
  readonly address: string;
  readonly namespace: string;
  readonly containers: Service<ContainersClient>;
  readonly content: Service<ContentClient>;
  readonly diff: Service<DiffClient>;
  readonly events: Service<EventsClient>;
  readonly images: Service<ImagesClient>;
  readonly leases: Service<LeasesClient>;
  readonly namespaces: Service<NamespacesClient>;
  readonly snapshots: Service<SnapshotsClient>;
  readonly tasks: Service<TasksClient>;
  readonly version: Service<VersionClient>;
  private readonly clients: Client[] = [];

  /** Checks that the socket exists before dialling, so a stopped containerd fails at once. */
  static async connect(options: ContainerdOptions): Promise<ContainerdClient> {
    const path = resolvePath(options.address.replace(/^unix:\/\//, ''));
    const info = await stat(path).catch((err: unknown) => {
      throw cannotConnect(options.address, err);
    });
    if (!info.isSocket()) throw cannotConnect(options.address);
    return new ContainerdClient({ ...options, address: path });
  }

  private constructor(options: ContainerdOptions) {
    this.address = options.address;
    this.namespace = options.namespace;
    const { containerd } = loadApi();
    const target = `unix://${this.address}`;
    const channelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    };
    const make = <C extends Client>(ctor: ServiceConstructor<C>, service: string): Service<C> => {
      const first = this.clients[0];
      const client = first
        ? new ctor(target, credentials.createInsecure(), { ...channelOptions, channelOverride: first.getChannel() })
        : new ctor(target, credentials.createInsecure(), channelOptions);
      this.clients.push(client);
      return wrapService<C>(client, ctor.service, {
        address: this.address,
        namespace: this.namespace,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        service,
      });
    };
    const s = containerd.services;
    this.version = make(s.version.v1.Version, 'version');
    this.containers = make(s.containers.v1.Containers, 'containers');
    this.content = make(s.content.v1.Content, 'content');
    this.diff = make(s.diff.v1.Diff, 'diff');
    this.events = make(s.events.v1.Events, 'events');
    this.images = make(s.images.v1.Images, 'images');
    this.leases = make(s.leases.v1.Leases, 'leases');
    this.namespaces = make(s.namespaces.v1.Namespaces, 'namespaces');
    this.snapshots = make(s.snapshots.v1.Snapshots, 'snapshots');
    this.tasks = make(s.tasks.v1.Tasks, 'tasks');
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
