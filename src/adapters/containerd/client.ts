/**
 * containerd over its gRPC API on a unix socket. One channel is shared by all
 * services; each service is exposed as promise/iterator methods (see calls.ts).
 */
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { LOADER_OPTIONS } from './protos.ts';
import { serviceDefinitions } from './service-definitions.ts';
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

type Api = ContainersProto &
  ContentProto &
  DiffProto &
  EventsProto &
  ImagesProto &
  LeasesProto &
  NamespacesProto &
  SnapshotsProto &
  TasksProto &
  VersionProto;

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
  api ??= loadPackageDefinition(serviceDefinitions(LOADER_OPTIONS)) as unknown as Api;
  return api;
}

interface RawClients {
  containers: ContainersClient;
  content: ContentClient;
  diff: DiffClient;
  events: EventsClient;
  images: ImagesClient;
  leases: LeasesClient;
  namespaces: NamespacesClient;
  snapshots: SnapshotsClient;
  tasks: TasksClient;
  version: VersionClient;
}

function dial(address: string): RawClients {
  const { containerd } = loadApi();
  const s = containerd.services;
  const target = `unix://${address}`;
  const channelOptions: ChannelOptions = {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  };
  const version = new s.version.v1.Version(target, credentials.createInsecure(), channelOptions);
  // Every service rides on the first client's channel: one connection to containerd.
  const shared = { ...channelOptions, channelOverride: version.getChannel() };
  const make = <C>(ctor: ServiceConstructor<C>): C => new ctor(target, credentials.createInsecure(), shared);
  return {
    version,
    containers: make(s.containers.v1.Containers),
    content: make(s.content.v1.Content),
    diff: make(s.diff.v1.Diff),
    events: make(s.events.v1.Events),
    images: make(s.images.v1.Images),
    leases: make(s.leases.v1.Leases),
    namespaces: make(s.namespaces.v1.Namespaces),
    snapshots: make(s.snapshots.v1.Snapshots),
    tasks: make(s.tasks.v1.Tasks),
  };
}

export class ContainerdClient {
  readonly address: string;
  readonly namespace: string;
  /** The lease every call of this client runs under, if any (see withLease). */
  readonly lease: string | undefined;
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
  private readonly raw: RawClients;
  private readonly timeoutMs: number;
  /** Calls nothing waits for (see inBackground), shared with the withLease copies. */
  private readonly background: Set<Promise<unknown>>;

  /** Checks that the socket exists before dialling, so a stopped containerd fails at once. */
  static async connect(options: ContainerdOptions): Promise<ContainerdClient> {
    const path = resolvePath(options.address.replace(/^unix:\/\//, ''));
    const info = await stat(path).catch((err: unknown) => {
      throw cannotConnect(options.address, err);
    });
    if (!info.isSocket()) throw cannotConnect(options.address);
    return new ContainerdClient({ ...options, address: path }, dial(path), undefined, new Set());
  }

  private constructor(options: ContainerdOptions, raw: RawClients, lease: string | undefined, background: Set<Promise<unknown>>) {
    this.address = options.address;
    this.namespace = options.namespace;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.lease = lease;
    this.raw = raw;
    this.background = background;
    const wrap = <C extends Client>(client: C, service: string): Service<C> =>
      wrapService<C>(client, (client.constructor as unknown as { service: ServiceDefinition }).service, {
        address: this.address,
        namespace: this.namespace,
        timeoutMs: this.timeoutMs,
        service,
        lease,
      });
    this.containers = wrap(raw.containers, 'containers');
    this.content = wrap(raw.content, 'content');
    this.diff = wrap(raw.diff, 'diff');
    this.events = wrap(raw.events, 'events');
    this.images = wrap(raw.images, 'images');
    this.leases = wrap(raw.leases, 'leases');
    this.namespaces = wrap(raw.namespaces, 'namespaces');
    this.snapshots = wrap(raw.snapshots, 'snapshots');
    this.tasks = wrap(raw.tasks, 'tasks');
    this.version = wrap(raw.version, 'version');
  }

  /** The same connection, with every call made under the given containerd lease. */
  withLease(lease: string): ContainerdClient {
    return new ContainerdClient(
      { address: this.address, namespace: this.namespace, timeoutMs: this.timeoutMs },
      this.raw,
      lease,
      this.background,
    );
  }

  /**
   * A call whose answer nothing waits for (its failure is the caller's to swallow): it
   * goes on beside the next calls, and close() lets it finish before the channels close.
   */
  inBackground(call: Promise<unknown>): void {
    const settled: Promise<unknown> = call.then(
      (): unknown => this.background.delete(settled),
      (): unknown => this.background.delete(settled),
    );
    this.background.add(settled);
  }

  /** Closes the channels once the calls in the background are done; resolves then (a command ends after them). */
  async close(): Promise<void> {
    if (this.background.size > 0) await Promise.allSettled([...this.background]);
    for (const c of Object.values(this.raw) as Client[]) c.close();
  }
}
