/**
 * `network gc`: compares the host with what containerd says is alive and
 * releases what no live container owns (see owners.ts for who is alive).
 * CNI state goes under the host-wide CNI lock, so a concurrent `run` either
 * finished its ADD (and is live) or has not started it. Only networks tsnerd
 * knows and CNI IDs of containerd namespaces are looked at.
 */
import { join } from 'node:path';
import { ErrorList } from '../../domain/errors.ts';
import { shortId } from '../../domain/container-ref.ts';
import { cniContainerId } from '../../domain/cni/container-id.ts';
import { containerOwner, Labels } from '../../domain/labels.ts';
import { bridgeLinkName, ipamOf, mainPlugin, type Network } from '../../domain/network/network.ts';
import type { CachedAttachment } from '../../interfaces/cni.ts';
import type { TaggedRule } from '../../interfaces/cni-host-state.ts';
import type { OverlayUpkeep, ReclaimDeps } from './deps.ts';
import { Owners } from './owners.ts';
import { releaseCachedAttachment } from '../attach/teardown.ts';
import { staleFirewallListings } from '../attach/stale-firewall.ts';

export interface GcItem {
  /** container (an exited `run -d --rm` whose reaper is gone), process, cni-attachment, ip, iptables-rules, iptables-chain, bridge, port-reservation, hosts-entry, dns-record, overlay-names-file, hook-server-file, cli-server-file, snapshot, hosts-dir, name, state-dir */
  kind: string;
  /** What was released, e.g. "gc-a eth0 10.211.2.5" or "tcp 127.0.0.1:39100". */
  item: string;
  /** The owner: a container ID (12 chars) or CNI container ID; empty for a bridge. */
  container: string;
}

export interface GcOptions {
  dryRun: boolean;
}

export async function networkGc(deps: ReclaimDeps, options: GcOptions): Promise<{ items: GcItem[]; errors: ErrorList }> {
  const inventory = await deps.inventory.list();
  const owners = new Owners(inventory, deps);
  const known = new Map((await deps.networks(inventory.namespaces)).map((n) => [n.name, n]));
  const items: GcItem[] = [];
  const errors = new ErrorList();
  const act = async (item: GcItem, fn: () => Promise<unknown>) => {
    if (options.dryRun) return void items.push(item);
    const failed = errors.errors.length;
    await errors.attempt(fn);
    if (errors.errors.length === failed) items.push(item);
  };

  // A `run -d --rm` container that exited after its reaper was killed (kill -9, a reboot): removed, as the
  // reaper would have (its network went at the exit, by the port holder's watcher). A reaper that runs is
  // left to do it. Before the rest: what the removal releases is not listed again below.
  let reapers: Promise<Set<string>> | undefined; // one scan of the processes, once there is a candidate
  for (const c of inventory.containers) {
    if (c.labels[Labels.autoRemove] !== 'true' || !c.labels[Labels.stateDir] || c.task?.status !== 'stopped') continue;
    if ((await (reapers ??= deps.reapers())).has(c.id)) continue;
    await act({ kind: 'container', item: c.labels[Labels.name] ?? shortId(c.id), container: shortId(c.id) }, () =>
      deps.removeContainer(c.namespace, c.id),
    );
  }

  // A dead container's init that lives on: containerd lost the task while creating it (restarted
  // then; rm -f kills it too). Its netns, and the veths in it, go with it; the DEL below then
  // releases the rest. Found by the chaos soak.
  const stateDirs = await deps.store.stateDirs();
  for (const d of stateDirs) {
    if ((await owners.verdictOf(d.namespace, d.id)) !== 'dead') continue;
    const init = await deps.store.initProcess(d.path);
    if (init && (await deps.processAlive(init.pid, init.start)))
      await act({ kind: 'process', item: `init ${init.pid}`, container: shortId(d.id) }, () => deps.killProcess(init.pid, init.start));
    // Its shim, when containerd has no task of it (a stopped task's shim is containerd's to end).
    if (owners.container(d.namespace, d.id)?.task) continue;
    for (const pid of await deps.shimPids(d.namespace, d.id))
      await act({ kind: 'process', item: `shim ${pid}`, container: shortId(d.id) }, () => deps.killShim(pid));
  }

  await deps.withCniLock(async () => {
    const released = new Set<string>();
    // CNI IDs of dead containers of tsnerd's or nerdctl's: whose hash chains are looked for.
    const deadIds = new Set<string>();
    for (const c of inventory.containers)
      if (containerOwner(c.labels) !== 'other' && (await owners.verdictOf(c.namespace, c.id)) === 'dead')
        deadIds.add(cniContainerId(c.namespace, c.id));
    for (const d of stateDirs) if ((await owners.verdictOf(d.namespace, d.id)) === 'dead') deadIds.add(cniContainerId(d.namespace, d.id));
    for (const a of await deps.cni.getCachedAttachments()) {
      if (!known.has(a.networkName)) continue;
      // A running container's attachment its record does not name: a `network connect` killed after its
      // ADD, or a `disconnect` killed after its record. DEL in its netns (no ADD runs: the CNI lock).
      const pid = await unrecordedOf(deps, owners, a);
      if (pid !== undefined) {
        await act(
          {
            kind: 'cni-attachment',
            item: `${a.networkName} ${a.ifName} ${ipsOf(a).join(',')}`.trim(),
            container: display(owners, a.containerId),
          },
          () => releaseCachedAttachment(deps, a, `/proc/${pid}/ns/net`),
        );
        continue;
      }
      if ((await owners.verdict(a.containerId)) !== 'dead') continue;
      released.add(a.containerId);
      deadIds.add(a.containerId);
      await act(
        {
          kind: 'cni-attachment',
          item: `${a.networkName} ${a.ifName} ${ipsOf(a).join(',')}`.trim(),
          container: display(owners, a.containerId),
        },
        () => releaseAttachment(deps, a, known.get(a.networkName)!),
      );
    }
    // What a DEL could not reach (no cache entry, or a plugin that failed): host-local's files and tagged rules.
    for (const n of known.values()) {
      for (const alloc of await deps.hostCni.allocations(n.name, hostLocalDataDir(n))) {
        if (alloc.owner === '' || (options.dryRun && released.has(alloc.owner))) continue;
        if ((await owners.verdict(alloc.owner)) !== 'dead') continue;
        deadIds.add(alloc.owner);
        await act({ kind: 'ip', item: `${n.name} ${alloc.ip}`, container: display(owners, alloc.owner) }, () =>
          deps.hostCni.releaseAllocation(alloc),
        );
      }
    }
    const byOwner = new Map<string, TaggedRule[]>();
    for (const r of await deps.hostCni.taggedRules()) {
      if (!known.has(r.network) || (options.dryRun && released.has(r.owner))) continue;
      if ((await owners.verdict(r.owner)) !== 'dead') continue;
      deadIds.add(r.owner);
      byOwner.set(r.owner, [...(byOwner.get(r.owner) ?? []), r]);
    }
    for (const [owner, rules] of byOwner) {
      const where = [...new Set(rules.map((r) => `${r.tool === 'ip6tables' ? 'ip6 ' : ''}${r.table}`))].join(', ');
      await act(
        { kind: 'iptables-rules', item: `${rules.length} in ${where} (${rules[0]!.network})`, container: display(owners, owner) },
        () => deps.hostCni.removeRules(rules),
      );
    }
    await errors.attempt(() => sweepFirewallRules(deps, owners, [...known.values()], released, options.dryRun, act));
    // The chains the plugins name after a hash of (network, CNI ID): one a DEL or ADD killed halfway left
    // empty has no rule naming its container, only its name. Those of the dead containers gc knows of
    // (containerd's, the data store's, the rules' and files' owners) on tsnerd's networks; other tools'
    // containers make such names for their own IDs, and are never looked at.
    const chainOwners = [...known.keys()].flatMap((network) => [...deadIds].map((cniId) => ({ network, cniId })));
    if (chainOwners.length > 0)
      await errors.attempt(async () => {
        const chains = options.dryRun
          ? // What the DELs and the rules' removal above would take with them is theirs.
            (await deps.hostCni.hashChains(chainOwners)).filter(
              (c) => !released.has(c.cniId) && c.references.length === 0 && !byOwner.has(c.cniId),
            )
          : await deps.hostCni.removeHashChains(chainOwners);
        for (const c of chains)
          items.push({
            kind: 'iptables-chain',
            item: `${c.tool === 'ip6tables' ? 'ip6 ' : ''}nat ${c.chain} (${c.network})`,
            container: display(owners, c.cniId),
          });
      });
  });

  // Bridges of tsnerd's networks whose conflist was deleted by hand (network rm deletes its bridge itself).
  // Under the CNI lock, the records read in it: no ADD attaches to a bridge between the idle check and its
  // deletion, and a network created again since gc listed the networks has its conflist back (kept).
  const inUse = new Set([...known.values()].map(bridgeLinkName).filter((l) => l !== undefined));
  await deps.withCniLock(async () => {
    const ownBridges = await deps.bridges.list().catch((err: unknown) => {
      errors.add(err);
      return [];
    });
    // A link can be recorded for several conflists (one network name in several namespaces): idle when all are gone.
    const byLink = Map.groupBy(ownBridges, (b) => b.link);
    for (const [link, records] of byLink) {
      if (inUse.has(link) || records.some((b) => b.conflistPresent)) continue;
      // host-local's dir of a network gone everywhere (its dataDir went with the conflist: the default one).
      const gone = [...new Set(records.map((b) => b.network))].filter((name) => !known.has(name));
      const forget = async () => {
        await Promise.all(records.map((b) => deps.bridges.forget(link, b.file)));
        for (const name of gone) await deps.hostCni.removeHostLocalDir(name, undefined);
      };
      if (await deps.hostCni.isIdleBridge(link)) {
        await act(
          { kind: 'bridge', item: `${link} (${[...new Set(records.map((b) => b.network))].join(', ')})`, container: '' },
          async () => {
            await deps.hostCni.deleteLink(link);
            await deps.hostCni.removeBridgeRules(link);
            await forget();
          },
        );
      } else if (!options.dryRun && !(await deps.hostCni.linkExists(link))) {
        await errors.attempt(forget);
      }
    }
    // The rules of a bridge of tsnerd's that is gone (deleted by hand, or by a network rm of a version that
    // left them): the firewall plugin's isolation rules (no DEL removes them, and the plugin adds them again
    // with the next ADD on that bridge) and the DNS rules this store made for it (the network's first
    // container made them; a kill or nerdctl's network rm may leave them). Other bridges' are other tools'.
    const dnsOwned = new Set(
      await deps.dns.ruleBridges().catch((err: unknown) => {
        errors.add(err);
        return [] as string[];
      }),
    );
    const ours = new Set([...inUse, ...byLink.keys(), ...dnsOwned]);
    const isolated = await deps.hostCni.isolatedBridges();
    const dnsRuled = await deps.hostCni.dnsRuleBridges();
    const gone = new Set<string>();
    for (const bridge of new Set([...isolated, ...dnsRuled, ...dnsOwned])) {
      if (!ours.has(bridge) || (await deps.hostCni.linkExists(bridge))) continue;
      gone.add(bridge);
      const what = [...(isolated.has(bridge) ? ['isolation'] : []), ...(dnsRuled.has(bridge) ? ['DNS rules'] : [])];
      if (what.length === 0) continue;
      await act({ kind: 'iptables-rules', item: `${what.join(' and ')} of bridge ${bridge}`, container: '' }, () =>
        deps.hostCni.removeBridgeRules(bridge),
      );
    }
    // What this store remembers of a bridge that is gone (dns/rules.json): its rules were removed above.
    const forgotten = [...gone].filter((b) => dnsOwned.has(b));
    if (!options.dryRun && forgotten.length > 0) {
      const still = dnsRuled.size === 0 ? dnsRuled : await deps.hostCni.dnsRuleBridges();
      await errors.attempt(() => deps.dns.forgetRules(forgotten.filter((b) => !still.has(b))));
    }
  });

  const keep = await owners.liveStateDirs();
  // A container being created has a state dir (with its creation claim) before containerd has its record.
  for (const d of stateDirs) if (!(await owners.abandoned(d.namespace, d.id, d.path))) keep.add(d.path);
  await errors.attempt(async () => {
    for (const r of await deps.reserver.reconcile(join(deps.storeRoot, 'containers'), keep, options)) {
      const id = r.stateDir.split('/').at(-1) ?? '';
      items.push(...(r.ports.length > 0 ? r.ports : ['?']).map((p) => ({ kind: 'port-reservation', item: p, container: shortId(id) })));
    }
  });

  const hostsDirs = await deps.store.hostsDirs();
  for (const ns of new Set(hostsDirs.map((d) => d.namespace))) {
    for (const meta of await deps.hosts.list(ns).catch(() => [])) {
      if ((await owners.verdictOf(ns, meta.ID)) !== 'dead') continue;
      const names = [meta.Name, meta.Hostname].filter((n) => n);
      await act({ kind: 'hosts-entry', item: [...new Set(names)].join(' ') || meta.ID, container: shortId(meta.ID) }, () =>
        deps.hosts.release(ns, meta.ID),
      );
    }
  }
  const dnsContainers = await deps.dns.containers().catch((err: unknown) => {
    errors.add(err);
    return [];
  });
  for (const c of dnsContainers) {
    if ((await owners.verdictOf(c.namespace, c.id)) !== 'dead') continue;
    await act({ kind: 'dns-record', item: c.names.join(' ') || c.id, container: shortId(c.id) }, () => deps.dns.leave(c.namespace, c.id));
  }
  // Hook servers killed with -9 (or of another build) that no hook runs again: their files.
  await errors.attempt(async () => {
    for (const f of await deps.removeStaleHookServerFiles(options.dryRun)) items.push({ kind: 'hook-server-file', item: f, container: '' });
    for (const f of await deps.removeStaleCliServerFiles(options.dryRun)) items.push({ kind: 'cli-server-file', item: f, container: '' });
  });
  // Records of live containers with no resolver serving them (a reboot, a kill): start it again.
  if (!options.dryRun) await errors.attempt(() => deps.dns.ensureServing());
  if (deps.overlay) await overlayUpkeep(deps.overlay, act, errors, options);
  // What a creation left that containerd never got (a killed `create`/`run`: its claim's process is gone),
  // or a container removed behind tsnerd's back left; a creation in flight is left alone.
  for (const l of inventory.snapshotLeases) {
    if (!(await owners.abandoned(l.namespace, l.key))) continue;
    await act({ kind: 'snapshot', item: l.key, container: shortId(l.key) }, () => deps.inventory.removeSnapshot(l.namespace, l.key));
  }
  for (const d of hostsDirs) {
    if (!(await owners.abandoned(d.namespace, d.id))) continue;
    await act({ kind: 'hosts-dir', item: d.path, container: shortId(d.id) }, () => deps.hosts.delete(d.namespace, d.id));
  }
  for (const n of await deps.store.names()) {
    // An empty file is a name being taken (created, not yet written): `run --name` and `rm` handle a crash there.
    if (n.owner === '' || !(await owners.abandoned(n.namespace, n.owner))) continue;
    await act({ kind: 'name', item: n.name, container: shortId(n.owner) }, () => deps.store.removeName(n));
  }
  for (const d of stateDirs) {
    if (!(await owners.abandoned(d.namespace, d.id, d.path))) continue;
    await act({ kind: 'state-dir', item: d.path, container: shortId(d.id) }, () => deps.store.removeDir(d.path));
  }
  return { items, errors };
}

/**
 * The firewall plugin's two rules per container address in CNI-FORWARD name no container (no
 * comment), so a DEL that failed (the plugin ignores its iptables errors), a kill, or another tool
 * leaves them for good; and the next container given the address had them doubled by tsnerd's
 * restore until it removed stale copies, one copy staying after its DEL. Found by address: only
 * addresses inside the subnets of the networks gc knows (its conf dir's, as for every other CNI
 * state it looks at), so another tool's or another conf dir's rules outside them are never taken.
 * An address is held by a CNI cache entry (any network's, any tool's) or a host-local lease (in
 * host-local's default dir, any network's, and in the dataDirs of gc's networks) whose owner is not
 * dead: live, or foreign (not of this containerd's namespaces: another runtime's, never judged).
 * A held address keeps one copy of each rule, as the plugin (which appends a rule only where none
 * is) leaves one whatever the number of holders; a free one keeps none. Runs under the CNI lock,
 * after the DELs above: what they removed is not listed (dry run: their addresses count as held).
 */
async function sweepFirewallRules(
  deps: ReclaimDeps,
  owners: Owners,
  networks: readonly Network[],
  released: ReadonlySet<string>,
  dryRun: boolean,
  act: (item: GcItem, fn: () => Promise<unknown>) => Promise<void>,
): Promise<void> {
  const holds = async (owner: string) => owner === '' || (dryRun && released.has(owner)) || (await owners.verdict(owner)) !== 'dead';
  for (const { tool, stale } of await staleFirewallListings(deps, networks, networks.map(hostLocalDataDir), holds)) {
    for (const s of stale) {
      const where = `${tool === 'ip6tables' ? 'ip6 ' : ''}filter CNI-FORWARD`;
      await act(
        {
          kind: 'iptables-rules',
          item: `${s.rules.length} in ${where} for ${s.address} (${s.held ? 'second copies' : 'no holder'})`,
          container: '',
        },
        () => deps.hostCni.removeFirewallRules(tool, s.rules),
      );
    }
  }
}

/** DEL from the cache; an entry without its config is detached with the network's current one. */
function releaseAttachment(deps: ReclaimDeps, a: CachedAttachment, network: Network): Promise<void> {
  return releaseCachedAttachment(deps, a.config ? a : { ...a, config: JSON.stringify(network.conflist) });
}

/** The init pid of the running tsnerd container that owns `a` when its `endpoints.json` does not name `a`'s interface. */
async function unrecordedOf(deps: ReclaimDeps, owners: Owners, a: CachedAttachment): Promise<number | undefined> {
  const o = owners.parse(a.containerId);
  const c = o && owners.container(o.namespace, o.id);
  const stateDir = c?.labels[Labels.stateDir];
  if (!c || !stateDir || c.task?.status !== 'running' || !a.config) return undefined;
  const recorded = await deps.recordedInterfaces(stateDir).catch(() => undefined);
  return recorded && !recorded.includes(a.ifName) ? c.task.pid : undefined;
}

function ipsOf(a: CachedAttachment): string[] {
  return (a.result?.ips ?? []).map((ip) => ip.address.split('/')[0]!);
}

function hostLocalDataDir(n: Network): string | undefined {
  const ipam = ipamOf(mainPlugin(n)) as { type?: string; dataDir?: unknown } | undefined;
  return typeof ipam?.dataDir === 'string' ? ipam.dataDir : undefined;
}

function display(owners: Owners, cniId: string): string {
  const o = owners.parse(cniId);
  return o ? shortId(o.id) : cniId;
}

/**
 * Overlay networks: a file of other hosts' names whose network this host no longer has goes
 * (a `network rm` killed after the agent stopped); an agent that does not run (it and its
 * supervisor killed) is started again, and one whose supervisor does not run gets a new one,
 * so the host's names are back in etcd and its paths follow etcd without waiting for the next
 * container on the network (docs/dns.md, "Names across hosts"; docs/overlay.md, "Supervision").
 */
async function overlayUpkeep(
  ov: OverlayUpkeep,
  act: (item: GcItem, fn: () => Promise<unknown>) => Promise<void>,
  errors: ErrorList,
  options: GcOptions,
): Promise<void> {
  await errors.attempt(async () => {
    const networks = await ov.networks();
    const have = new Set(networks.map((n) => `${n.namespace}/${n.name}`));
    for (const f of await ov.remoteFiles()) {
      if (have.has(`${f.namespace}/${f.name}`)) continue;
      await act({ kind: 'overlay-names-file', item: f.file, container: '' }, () => ov.removeRemoteFile(f.file));
    }
    if (options.dryRun) return;
    for (const n of networks) if (!n.running) await errors.attempt(() => ov.startAgent(n.namespace, n.name));
  });
}
