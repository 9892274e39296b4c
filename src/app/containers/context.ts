/** What the container use cases need, built once by src/wiring/containers.ts. */
import type { StoreLayout } from '../../domain/store-layout.ts';
import type { ContainerHost } from '../../interfaces/container-host.ts';
import type { ContainerRuntime } from '../../interfaces/container-runtime.ts';
import type { ContainerStateFiles } from '../../interfaces/container-state.ts';
import type { HostFacts } from '../../interfaces/host-facts.ts';
import type { ImageResolver } from '../../interfaces/image-resolver.ts';
import type { NameStore } from '../../interfaces/name-store.ts';
import type { ProcessIo } from '../../interfaces/process-io.ts';
import type { ContainerNetworking } from '../attach/container-networking.ts';

export interface ContainerContext {
  namespace: string;
  layout: StoreLayout;
  runtime: ContainerRuntime;
  images: ImageResolver;
  names: NameStore;
  io: ProcessIo;
  host: ContainerHost;
  hostFacts: Pick<HostFacts, 'hostname'>;
  stateFiles: Pick<ContainerStateFiles, 'readLifecycle' | 'writeLifecycle' | 'readHookFailure'>;
  networking: ContainerNetworking;
  /** How long containerd may take to create a task, its createRuntime hook included (30 s). */
  taskCreateTimeoutMs: number;
}

/** The raw log of a detached container, written by the shim (stdout and stderr interleaved). */
export const LOG_FILE = 'container.log';
