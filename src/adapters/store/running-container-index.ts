/**
 * Which running containers are attached to a network, from the data store
 * alone (no containerd call): a container is attached while its hosts meta
 * exists (createRuntime → postStop) and the pid its hook recorded is alive.
 */
import { readdir } from 'node:fs/promises';
import { shortId } from '../../domain/container-ref.ts';
import { endpointIdOf } from '../../domain/network-settings.ts';
import type { Network } from '../../domain/network/network.ts';
import type { HostsMeta } from '../../domain/dns/hosts-file.ts';
import type { StoreLayout } from '../../domain/store-layout.ts';
import type { ContainerIndex, NetworkAttachment } from '../../interfaces/container-index.ts';
import type { ContainerStateFiles } from '../../interfaces/container-state.ts';
import type { HostsStore } from '../../interfaces/hosts-store.ts';
import { processExists } from '../host/proc.ts';

export class RunningContainerIndex implements ContainerIndex {
  private readonly layout: StoreLayout;
  private readonly hosts: HostsStore;
  private readonly state: ContainerStateFiles;

  constructor(layout: StoreLayout, hosts: HostsStore, state: ContainerStateFiles) {
    this.layout = layout;
    this.hosts = hosts;
    this.state = state;
  }

  async attachments(network: Network): Promise<NetworkAttachment[]> {
    const refs = new Set([network.name, ...(network.id ? [network.id, shortId(network.id)] : [])]);
    const found: NetworkAttachment[] = [];
    for (const ns of await readdir(`${this.layout.root}/etchosts`).catch(() => [] as string[])) {
      for (const meta of await this.hosts.list(ns)) {
        const entry = Object.entries(meta.Networks ?? {}).find(([ref]) => refs.has(ref));
        if (!entry || !(await this.isRunning(ns, meta))) continue;
        found.push(attachment(ns, meta, entry[1] as ResultLike));
      }
    }
    return found;
  }

  private async isRunning(ns: string, meta: HostsMeta): Promise<boolean> {
    const { pid, stopped_at } = await this.state.readLifecycle(this.layout.containerDir(ns, meta.ID));
    return !stopped_at && pid !== undefined && pid > 0 && processExists(pid);
  }
}

interface ResultLike {
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; interface?: number }[];
}

/** The container's addresses and MAC on the interface (ethN) its result for this network names. */
function attachment(ns: string, meta: HostsMeta, result: ResultLike): NetworkAttachment {
  const ips = result.ips ?? [];
  const v4 = ips.find((ip) => !ip.address.includes(':'));
  const v6 = ips.find((ip) => ip.address.includes(':'));
  const ifIndex = (v4 ?? v6)?.interface;
  return {
    containerId: meta.ID,
    name: meta.Name,
    // The CNI container ID is `<namespace>-<id>` (app/attach/attachment.ts).
    endpointId: endpointIdOf(`${ns}-${meta.ID}`, { interfaces: result.interfaces ?? [], ips }),
    macAddress: (ifIndex === undefined ? undefined : result.interfaces?.[ifIndex]?.mac) ?? '',
    ipv4Address: v4?.address ?? '',
    ipv6Address: v6?.address ?? '',
  };
}
