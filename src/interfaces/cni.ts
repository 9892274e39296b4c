/**
 * The CNI runtime port: what libcni/go-cni give Go runtimes. Implemented by
 * adapters/cni (ExecCniRuntime); faked in tests.
 */
import type { CniArgs } from '../domain/cni/cni-args.ts';
import type { NetworkConfigList } from '../domain/cni/net-conf.ts';
import type { CniResult } from '../domain/cni/result.ts';
import type { CapabilityArgs } from '../domain/cni/runtime-config.ts';
import type { PluginVersionInfo } from '../domain/cni/version-info.ts';

export type { CapabilityArgs, CniArgs, CniResult, NetworkConfigList, PluginVersionInfo };
export type { PluginConf } from '../domain/cni/net-conf.ts';
export type { CniPortMapping } from '../domain/cni/runtime-config.ts';
export type { CniPluginError } from '../domain/cni/plugin-error.ts';

/** One attachment of a container to a network (the CNI_* parameters). */
export interface RuntimeConf {
  containerId: string;
  /** Path of the netns, e.g. /proc/<pid>/ns/net; may be gone on DEL. */
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, e.g. [['IgnoreUnknown', '1'], ['IP', '10.4.0.5']]. */
  args?: CniArgs;
  /** Sent as runtimeConfig to the plugins that declare the capability. */
  capabilityArgs?: CapabilityArgs;
}

/** A cached attachment as libcni keeps it (`<cacheDir>/results/<net>-<id>-<ifname>`). */
export interface CachedAttachment {
  networkName: string;
  containerId: string;
  ifName: string;
  netns?: string;
  args?: CniArgs;
  capabilityArgs?: CapabilityArgs;
  /** The conflist bytes the ADD ran with. */
  config?: string;
  result?: CniResult;
}

export interface GcAttachment {
  containerId: string;
  ifName: string;
}

export interface LoadedConfigs {
  lists: NetworkConfigList[];
  /** One line per skipped file, naming it. */
  warnings: string[];
}

export interface CniRuntime {
  /** ADD each plugin in order, chaining prevResult; caches the final result. No rollback: call DEL on failure. */
  addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult>;
  /**
   * DEL each plugin in reverse order with the cached result as prevResult, then
   * drops the cache entry. A missing or unreadable cache entry is tolerated; the
   * ADD's args and capabilityArgs are replayed from the cache when rt has none.
   */
  delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void>;
  /**
   * ADD again, with the cached result as prevResult and the cached args and capabilities, of the
   * list's plugins of `types` only (plugins whose ADD only programs the firewall and finds its own
   * rules before adding them: portmap, firewall): what `network reload` restores after a flush.
   * False when nothing is cached for the attachment.
   */
  reapplyNetworkList(list: NetworkConfigList, rt: RuntimeConf, types: readonly string[]): Promise<boolean>;
  /** CHECK each plugin in order (no-op with disableCheck; error below 0.4.0). */
  checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void>;
  getCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult | undefined>;
  /** Cached attachments, optionally of one container, in file name order. */
  getCachedAttachments(containerId?: string): Promise<CachedAttachment[]>;
  /** Runs VERSION once per plugin binary per runtime instance. */
  getVersionInfo(pluginType: string): Promise<PluginVersionInfo>;
  /** Every plugin exists and speaks the list's cniVersion; throws a precondition error otherwise. */
  validateNetworkList(list: NetworkConfigList): Promise<void>;
  /**
   * DEL of every cached attachment of this network not in `valid`, then (1.1.0
   * lists only) GC on each plugin with `cni.dev/valid-attachments`. Continues on
   * errors and throws them together. No-op with disableGC.
   */
  gcNetworkList(list: NetworkConfigList, valid: GcAttachment[]): Promise<void>;
  /** STATUS on each plugin (1.1.0 lists only; older lists are always ready). */
  statusNetworkList(list: NetworkConfigList): Promise<void>;
}
