/**
 * The networks one namespace sees, and the entry point other parts of tsnerd
 * use to find a network (`run --net`, the OCI hook) or to make sure the
 * default `bridge` exists.
 */
import { TsnerdError, conflict, invalid, isTsnerdError } from '../../domain/errors.ts';
import { quote } from '../../domain/text.ts';
import type { Cidr } from '../../domain/network/cidr.ts';
import type { NetworkSpec } from '../../domain/network/create-spec.ts';
import { supportsIsolatedIngress } from '../../domain/network/firewall-version.ts';
import { type IdMatch, resolveNetwork } from '../../domain/network/network-lookup.ts';
import { conflistPath } from '../../domain/network/network-name.ts';
import { DEFAULT_BRIDGE_NAME } from '../../domain/network/constants.ts';
import { type Network, bridgeLinkName, isDefaultNetwork, networkFromConflist } from '../../domain/network/network.ts';
import type { NetworksDeps } from './deps.ts';

/** Names that can be part of a conflist's file name (no path separators). */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class NetworkStore {
  private readonly deps: NetworksDeps;

  constructor(deps: NetworksDeps) {
    this.deps = deps;
  }

  /** Conf-dir networks visible to the namespace, in path order (no pseudo networks). */
  list(): Promise<Network[]> {
    return this.deps.confDir.withLock(() => this.listUnlocked(), { shared: true });
  }

  /**
   * A network by exact name, else by ID (`prefix`: any prefix, for inspect/rm;
   * `full-or-short`: full or 12-hex ID, for --net). `host`/`none` give pseudo networks.
   */
  async resolve(ref: string, idMatch: IdMatch = 'prefix'): Promise<Network> {
    try {
      return resolveNetwork(await this.list(), ref, idMatch);
    } catch (err) {
      throw (isTsnerdError(err, 'not-found') && (await this.brokenDefinition(ref))) || err;
    }
  }

  /** A network nobody can use because its nerdctl-named file is broken: say so, not "not found". */
  private async brokenDefinition(ref: string): Promise<TsnerdError | undefined> {
    if (!this.deps.confDir.explain || !NETWORK_NAME.test(ref)) return undefined;
    const reason = await this.deps.confDir.explain(conflistPath(this.deps.netconfPath, this.deps.namespace, ref));
    return reason === undefined ? undefined : invalid(`network ${quote(ref)} cannot be used: ${reason}`);
  }

  /** Subnets a new bridge network must not overlap: other bridge networks and host interfaces. */
  async usedSubnets(): Promise<Cidr[]> {
    return this.usedSubnetsOf(await this.list());
  }

  /**
   * The default network (labelled nerdctl/default-network, else named
   * `bridge`), created on first need: nerdctl0, 10.4.0.0/24, gateway 10.4.0.1 (or `--bridge-ip`'s).
   * An existing default network is used as it is, whatever `--bridge-ip` says (as nerdctl).
   */
  async ensureDefaultBridge(): Promise<Network> {
    const existing = (await this.list()).find(isDefaultNetwork);
    if (existing) return existing;
    return this.deps.confDir.withLock(async () => {
      const networks = await this.listUnlocked();
      // The default network's own bridge (nerdctl0, left by an earlier conf dir or by nerdctl)
      // is a host interface on 10.4.0.0/24: it is not a clash.
      return (
        networks.find(isDefaultNetwork) ??
        (await this.createUnlocked((await planner()).defaultNetworkSpec(this.deps.bridgeIp), networks, { ownBridge: DEFAULT_BRIDGE_NAME }))
      );
    });
  }

  /** For use inside an exclusive section (flock is not re-entrant across descriptors). */
  async listUnlocked(): Promise<Network[]> {
    const { files, warnings } = await this.deps.confDir.list(this.deps.namespace);
    for (const w of warnings) this.deps.warn(w);
    return files.map((f) => networkFromConflist(f.path, f.conflist, f.modified));
  }

  /** Writes the network's conflist; the caller holds the exclusive lock. Leaves no file on failure. */
  async createUnlocked(spec: NetworkSpec, networks: readonly Network[], opts: { ownBridge?: string } = {}): Promise<Network> {
    if (networks.some((n) => n.name === spec.name)) throw conflict(`network with name ${spec.name} already exists`);
    const effective = await this.withSupportedIcc(spec);
    const { buildConflist, needsIPv6Subnet, planRanges, serializeConflist, ulaPrefix } = await planner();
    const ipv6Pool = needsIPv6Subnet(effective) ? ulaPrefix(await this.deps.host.machineId()) : undefined;
    const conflist = buildConflist(
      await this.deps.host.templates(),
      effective,
      planRanges(effective, await this.usedSubnetsOf(networks, opts.ownBridge), ipv6Pool),
    );
    const [missing] = await this.deps.host.missingPlugins(conflist.plugins.map((p) => p.type));
    if (missing !== undefined) {
      throw new TsnerdError(
        'precondition',
        `needs CNI plugin "${missing}" to be installed in CNI_PATH ("${this.deps.cniPath}"), see https://github.com/containernetworking/plugins/releases`,
      );
    }
    const path = conflistPath(this.deps.netconfPath, this.deps.namespace, spec.name);
    const network = networkFromConflist(path, conflist, new Date());
    // tsnerd's mark on the bridge the first attachment makes: gc may remove it once the conflist is gone.
    const link = isDefaultNetwork(network) ? undefined : bridgeLinkName(network);
    const unrecord = link === undefined ? undefined : await this.deps.bridges?.record({ link, network: spec.name, file: path });
    this.deps.faultPoint?.('network-recorded');
    try {
      await this.deps.confDir.create(path, serializeConflist(conflist));
    } catch (err) {
      // A partial write must not leave a broken network behind; a file (and a record) that was already there is not ours.
      if (!(err instanceof TsnerdError && err.kind === 'conflict')) await this.deps.confDir.remove(path);
      await unrecord?.();
      throw err;
    }
    return network;
  }

  /** As nerdctl: with a firewall plugin too old for "isolated", warn and keep same-bridge isolation. */
  private async withSupportedIcc(spec: NetworkSpec): Promise<NetworkSpec> {
    if (spec.options.icc || supportsIsolatedIngress(await this.deps.host.pluginAbout('firewall'))) return spec;
    this.deps.warn('icc=false needs the CNI firewall plugin >= v1.7.1; containers on this network are not isolated from each other');
    return { ...spec, options: { ...spec.options, icc: true } };
  }

  private async usedSubnetsOf(networks: readonly Network[], ownBridge?: string): Promise<Cidr[]> {
    const { allocatedSubnets } = await import('../../domain/network/subnet-pick.ts');
    return [...networks.flatMap(allocatedSubnets), ...(await this.deps.host.interfaceSubnets(ownBridge === undefined ? [] : [ownBridge]))];
  }
}

/**
 * Subnet planning and conflist building, loaded when a network is created:
 * they bring ip-num, which every `run` and hook would otherwise load for nothing.
 */
async function planner(): Promise<typeof import('../../domain/network/build-conflist.ts') & typeof import('../../domain/network/ula.ts')> {
  const [conflist, ula] = await Promise.all([import('../../domain/network/build-conflist.ts'), import('../../domain/network/ula.ts')]);
  return { ...conflist, ...ula };
}
