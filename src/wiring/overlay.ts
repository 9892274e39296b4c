/** Composition of overlay networks: etcd (flannel's keys), the kernel side, lowdb state, the agent processes. */
import { randomBytes } from 'node:crypto';
import type { Settings } from '../domain/settings.ts';
import { StoreLayout } from '../domain/store-layout.ts';
import type { OverlayDeps } from '../interfaces/overlay.ts';
import { ProcessOverlayAgents } from '../adapters/overlay/agent-process.ts';
import { connectFlannelStore } from '../adapters/overlay/etcd-flannel-store.ts';
import { LinuxOverlayHost } from '../adapters/overlay/linux-overlay-host.ts';
import { LowdbOverlayStates } from '../adapters/overlay/lowdb-overlay-states.ts';
import { removeRemoteRecords } from '../adapters/dns/remote-records.ts';

export function createOverlayDeps(settings: Pick<Settings, 'dataRoot' | 'address'>): OverlayDeps {
  const dnsDir = new StoreLayout(settings.dataRoot, settings.address).dnsDir();
  return {
    connect: connectFlannelStore,
    host: new LinuxOverlayHost(),
    states: new LowdbOverlayStates(settings.dataRoot),
    agents: new ProcessOverlayAgents(dnsDir),
    remoteNames: { remove: (namespace, name) => removeRemoteRecords(dnsDir, namespace, name) },
    randomBytes: (n) => randomBytes(n),
  };
}
