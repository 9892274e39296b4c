/**
 * `network create NAME --driver overlay --etcd-endpoints URL`: joins (or first
 * defines) a flannel network in etcd, leases this host's subnet, writes the
 * local conflist on it and starts the host's agent. Every step registers its
 * undo first: a failure leaves neither keys in etcd nor files nor links.
 */
import { TsnerdError, conflict, invalid } from '../../domain/errors.ts';
import {
  type Ipv4Net,
  VXLAN_OVERHEAD,
  configDifferences,
  configKey,
  formatNet,
  leaseKey,
  netsOverlap,
  newFlannelConfig,
  overlayConfigOf,
  parseFlannelConfig,
  parseIpv4Net,
  randomVtepMac,
  vxlanDeviceName,
} from '../../domain/overlay/flannel.ts';
import { type CreateOverlayInput, buildOverlayConflist, overlayOf, parseOverlayInput } from '../../domain/overlay/overlay-network.ts';
import { bridgeNameFor, conflistPath, networkId } from '../../domain/network/network-name.ts';
import { allocatedSubnets } from '../../domain/network/subnet-pick.ts';
import type { OverlayDeps, OverlayHostState } from '../../interfaces/overlay.ts';
import { UndoStack } from '../containers/undo-stack.ts';
import type { NetworksDeps } from '../networks/deps.ts';
import { NetworkStore } from '../networks/network-store.ts';
import { claimSubnet, ownedOrFree } from './lease.ts';

/** How long `network create` keeps trying an unreachable etcd (an outage may be short). */
export const DEFAULT_ETCD_WAIT_MS = 10_000;

export function overlayDeps(deps: NetworksDeps): Promise<OverlayDeps> {
  if (!deps.overlay) throw new TsnerdError('internal', 'overlay networks are not wired in');
  return deps.overlay();
}

export async function createOverlayNetwork(
  deps: NetworksDeps,
  input: CreateOverlayInput & { etcdWaitMs?: number | undefined },
): Promise<string> {
  const spec = parseOverlayInput(input);
  const ov = await overlayDeps(deps);
  const store = new NetworkStore(deps);
  return deps.confDir.withLock(async () => {
    const networks = await store.listUnlocked();
    if (networks.some((n) => n.name === spec.name)) throw conflict(`network with name ${spec.name} already exists`);
    const templates = await deps.host.templates();
    const [missing] = await deps.host.missingPlugins(templates.bridge.plugins.map((p) => p.type));
    if (missing !== undefined) {
      throw new TsnerdError('precondition', `needs CNI plugin "${missing}" to be installed in CNI_PATH ("${deps.cniPath}")`);
    }
    const undo = new UndoStack();
    const etcd = await ov.connect(spec.ref, { waitMs: input.etcdWaitMs ?? DEFAULT_ETCD_WAIT_MS });
    try {
      return await undo.guard(async () => {
        const key = configKey(spec.ref.etcdPrefix);
        let text = await etcd.readConfig();
        if (text === undefined) {
          if (!spec.request.network) {
            throw invalid(`no overlay config at ${key} in etcd: give --subnet to define the network`);
          }
          const fresh = newFlannelConfig({ ...spec.request, network: spec.request.network });
          overlayConfigOf(fresh, key); // the same checks as a config read back
          const written = JSON.stringify(fresh);
          if (await etcd.createConfig(written)) {
            // Only the config this create wrote, and only while no host holds a lease in it: another host may have
            // joined it meanwhile (this host's lease, undone first, is gone by then).
            undo.push(async () => {
              if ((await etcd.listLeases()).length === 0) await etcd.deleteConfig({ ifValue: written });
              else deps.warn(`the overlay config at ${key} stays in etcd: another host joined it`);
            });
            text = written;
          } else {
            text = await etcd.readConfig(); // another host was first
          }
        }
        const config = parseFlannelConfig(text ?? '', key);
        const diffs = configDifferences(config, spec.request);
        if (diffs.length > 0)
          throw conflict(`overlay config at ${key} in etcd differs: ${diffs.join(', ')}; leave the flags out to join it`);

        // Local clashes: other networks' subnets, the host's interfaces, other overlays (their whole Network, their VNI).
        // A state of this very name has no conflist (checked above): left by a create that was killed. Its agent goes.
        const stale = ov.states.dir(deps.namespace, spec.name);
        await ov.agents.stop(stale);
        const others = (await ov.states.list()).filter((o) => !(o.namespace === deps.namespace && o.name === spec.name));
        const clash = others.find((o) => o.vni === config.vni);
        if (clash) throw conflict(`VNI ${config.vni} is already used on this host by overlay network ${clash.name}`);
        const used: { net: Ipv4Net; what: string }[] = [];
        for (const n of networks) {
          if (overlayOf(n)) continue;
          for (const c of allocatedSubnets(n)) addUsed(used, c.text, `network ${n.name}`);
        }
        const ownLinks = [bridgeNameFor(spec.name, networkId(spec.name))];
        for (const c of await deps.host.interfaceSubnets(ownLinks)) addUsed(used, c.text, 'an address of this host');
        for (const o of others) addUsed(used, o.network, `overlay network ${o.name}`);
        const hit = used.find((u) => netsOverlap(u.net, config.network));
        if (hit) throw conflict(`overlay subnet ${formatNet(config.network)} overlaps ${formatNet(hit.net)} of ${hit.what}`);

        const underlay = await ov.host.underlay(spec.ref.etcdEndpoints, spec.publicIp);
        const vtepMac = randomVtepMac(ov.randomBytes(6));
        const claimed = await claimSubnet(etcd, spec.ref.etcdPrefix, config, { publicIp: underlay.ip, vtepMac }, undefined);
        const lk = leaseKey(spec.ref.etcdPrefix, claimed.subnet);
        undo.push(async () => {
          await etcd.deleteLease(lk, ownedOrFree(underlay.ip));
          await etcd.revoke(claimed.lease.id);
        });

        const mtu = spec.mtu ?? underlay.mtu - VXLAN_OVERHEAD;
        const state: OverlayHostState = {
          namespace: deps.namespace,
          name: spec.name,
          etcdEndpoints: spec.ref.etcdEndpoints,
          etcdPrefix: spec.ref.etcdPrefix,
          network: formatNet(config.network),
          subnet: formatNet(claimed.subnet),
          vni: config.vni,
          port: config.port,
          publicIp: underlay.ip,
          iface: underlay.iface,
          vtepMac,
          mtu,
          device: vxlanDeviceName(config.vni),
          leaseId: claimed.lease.id,
        };
        const stateDir = ov.states.dir(deps.namespace, spec.name);
        undo.push(() => ov.states.remove(deps.namespace, spec.name));
        await ov.states.write(state);

        const conflist = buildOverlayConflist(templates.bridge, spec, claimed.subnet, mtu);
        const path = conflistPath(deps.netconfPath, deps.namespace, spec.name);
        // The local bridge is tsnerd's as a bridge network's is: gc may reclaim it once the conflist is deleted by hand.
        const unrecord = await deps.bridges?.record({ link: ownLinks[0]!, network: spec.name, file: path });
        if (unrecord) undo.push(unrecord);
        await deps.confDir.create(path, JSON.stringify(conflist, null, 2));
        undo.push(() => deps.confDir.remove(path));

        undo.push(async () => {
          await ov.agents.stop(stateDir);
          await ov.host.teardown(state.device, state.vni);
        });
        await ov.agents.ensure(stateDir);
        undo.commit();
        return conflist.nerdctlID;
      });
    } finally {
      etcd.close();
    }
  });
}

function addUsed(used: { net: Ipv4Net; what: string }[], text: string, what: string): void {
  const net = parseIpv4Net(text);
  if (net) used.push({ net: { base: net.base, prefix: net.prefix }, what });
}
