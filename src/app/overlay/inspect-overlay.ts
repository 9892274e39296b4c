/** The `Overlay` section of `network inspect` for an overlay network. */
import { type Lease, formatNet, parseIpv4Net } from '../../domain/overlay/flannel.ts';
import { hostNamesPrefix, namesPrefix } from '../../domain/overlay/names.ts';
import type { OverlayRef } from '../../domain/overlay/overlay-network.ts';
import type { NetworksDeps } from '../networks/deps.ts';
import { overlayDeps } from './create-overlay.ts';
import { readLeases } from './lease.ts';

const INSPECT_ETCD_WAIT_MS = 2_000;

export interface OverlayLeaseView {
  Subnet: string;
  PublicIP: string;
  VtepMAC: string;
}

export interface OverlayView {
  EtcdEndpoints: string[];
  EtcdPrefix: string;
  /** flannel's config as stored in etcd. */
  Config?: unknown;
  Device?: string;
  MTU?: number;
  /** This host's lease. */
  Lease?: OverlayLeaseView;
  /** Every other host's lease. */
  Peers?: OverlayLeaseView[];
  AgentPid?: number;
  /** The agent's supervisor (docs/overlay.md, "Supervision"), while it runs. */
  SupervisorPid?: number;
  /** DNS records in etcd (docs/dns.md, "Names across hosts"): this host's containers, and the other hosts'. */
  Names?: { Published: number; Remote: number };
  /** Why Config, Peers and Names are missing. */
  EtcdError?: string;
}

const view = (l: Lease): OverlayLeaseView => ({
  Subnet: formatNet(l.subnet),
  PublicIP: l.attrs.PublicIP,
  VtepMAC: l.attrs.BackendData?.VtepMAC ?? '',
});

export async function inspectOverlay(deps: NetworksDeps, name: string, ref: OverlayRef): Promise<OverlayView> {
  const ov = await overlayDeps(deps);
  const state = await ov.states.read(deps.namespace, name).catch(() => undefined);
  const out: OverlayView = { EtcdEndpoints: ref.etcdEndpoints, EtcdPrefix: ref.etcdPrefix };
  if (state) {
    out.Device = state.device;
    out.MTU = state.mtu;
    out.Lease = { Subnet: state.subnet, PublicIP: state.publicIp, VtepMAC: state.vtepMac };
  }
  const pid = await ov.agents.pid(ov.states.dir(deps.namespace, name));
  if (pid !== undefined) out.AgentPid = pid;
  const supervisor = await ov.agents.supervisorPid(ov.states.dir(deps.namespace, name));
  if (supervisor !== undefined) out.SupervisorPid = supervisor;
  try {
    const etcd = await ov.connect(ref, { waitMs: INSPECT_ETCD_WAIT_MS });
    try {
      const text = await etcd.readConfig();
      if (text !== undefined) out.Config = JSON.parse(text) as unknown;
      out.Peers = (await readLeases(etcd, ref.etcdPrefix)).map(view).filter((l) => l.Subnet !== state?.subnet);
      const records = await etcd.names.list(namesPrefix(ref.etcdPrefix));
      const subnet = state ? parseIpv4Net(state.subnet) : undefined;
      const own = subnet ? hostNamesPrefix(ref.etcdPrefix, subnet) : undefined;
      const published = own === undefined ? 0 : records.filter((r) => r.key.startsWith(own)).length;
      out.Names = { Published: published, Remote: records.length - published };
    } finally {
      etcd.close();
    }
  } catch (err) {
    out.EtcdError = (err as Error).message;
  }
  return out;
}
