/** Composes the adapters the container use cases run on. */
import type { ContainerContext } from '../app/containers/context.ts';
import { settingsToArgs, type Settings } from '../domain/settings.ts';
import { StoreLayout } from '../domain/store-layout.ts';
import { ContainerdClient } from '../adapters/containerd/client.ts';
import { ContainerdImageBackend } from '../adapters/containerd/image-backend.ts';
import { BackendImageResolver } from '../app/images/image-resolver.ts';
import { GrpcContainerRuntime } from '../adapters/containerd/grpc-container-runtime.ts';
import { FifoProcessIo } from '../adapters/host/fifo-process-io.ts';
import { requestEnv } from '../adapters/host/request-env.ts';
import { LinuxContainerHost } from '../adapters/host/linux-container-host.ts';
import { LinuxHostFacts } from '../adapters/host/linux-host-facts.ts';
import { FileContainerStateFiles } from '../adapters/store/container-state-files.ts';
import { FileNameStore } from '../adapters/store/file-name-store.ts';
import { FileRunConfigCache } from '../adapters/store/run-config-cache.ts';
import { createContainerNetworking } from './attach.ts';
import { joinTarget } from '../app/containers/join-target.ts';

const TASK_CREATE_TIMEOUT_MS = 30_000;

export interface ContainersHandle {
  ctx: ContainerContext;
  /** Resolves once containerd has answered every call, those nothing waited for included (a snapshot's lease). */
  close(): Promise<void>;
}

export async function openContainers(settings: Settings): Promise<ContainersHandle> {
  const client = await ContainerdClient.connect({ address: settings.address, namespace: settings.namespace });
  const layout = new StoreLayout(settings.dataRoot, settings.address);
  const ctx: ContainerContext = {
    namespace: settings.namespace,
    layout,
    runtime: new GrpcContainerRuntime(client),
    images: new BackendImageResolver(new ContainerdImageBackend(client), new FileRunConfigCache(layout.imageCacheDir())),
    names: new FileNameStore(layout.namesDir(settings.namespace)),
    io: new FifoProcessIo(),
    host: new LinuxContainerHost(settingsToArgs(settings), settings),
    hostFacts: new LinuxHostFacts(settings.hostGatewayIp),
    stateFiles: new FileContainerStateFiles(),
    networking: createContainerNetworking(settings, (ref) => joinTarget(ctx, ref)),
    // TSNERD_TASK_CREATE_TIMEOUT_MS: test only (the fault suite lets the deadline fire).
    taskCreateTimeoutMs: Number(requestEnv()['TSNERD_TASK_CREATE_TIMEOUT_MS']) || TASK_CREATE_TIMEOUT_MS,
  };
  return { ctx, close: () => client.close() };
}
