/**
 * The CNI runtime (what libcni is to Go runtimes): runs conflists against the
 * plugin binaries in CNI_PATH and keeps libcni's result cache.
 *
 * Concurrency: calls for the same attachment (network, container, ifname) are
 * serialised within this process; different attachments run in parallel, as
 * the spec allows. Serialising across processes is the caller's job.
 * Cost: one process per plugin per verb; VERSION runs only on demand
 * (validateNetworkList, GC, STATUS) and is cached per binary.
 */
import { TsnerdError, ErrorList, invalid, isTsnerdError } from '../../domain/errors.ts';
import { hostVethsOf, validateAttachment } from '../../domain/cni/attachment.ts';
import { formatCniArgs } from '../../domain/cni/cni-args.ts';
import type { NetworkConfigList, PluginConf } from '../../domain/cni/net-conf.ts';
import { CniPluginError, CNI_ERR_UNKNOWN, type CniVerb } from '../../domain/cni/plugin-error.ts';
import { convertRawResult, parseResult, resultVersion, type CniResult } from '../../domain/cni/result.ts';
import { buildPluginRequest } from '../../domain/cni/runtime-config.ts';
import { CURRENT_CNI_VERSION, versionAtLeast } from '../../domain/cni/version.ts';
import { LEGACY_VERSION_INFO, decodeVersionInfo, supportsVersion, type PluginVersionInfo } from '../../domain/cni/version-info.ts';
import type { CachedAttachment, CniRuntime, GcAttachment, RuntimeConf } from '../../interfaces/cni.ts';
import { findPlugin, splitCniPath } from './find-plugin.ts';
import { execPlugin } from './plugin-exec.ts';
import { ResultCache, type AttachmentKey } from './result-cache.ts';
import type { CacheEntry } from '../../domain/cni/cache-entry.ts';
import { requestStderr } from '../host/request-env.ts';
import { removeVethOnBridge } from '../host/left-veth.ts';
import { faultPoint } from '../host/fault-injection.ts';

export interface ExecCniRuntimeOptions {
  /** Plugin dirs, colon-separated or as a list. */
  cniPath: string | readonly string[];
  /** Defaults to /var/lib/cni (libcni's), so other runtimes see our attachments. */
  cacheDir?: string;
  /** Deadline of each plugin call. */
  timeoutMs?: number;
  /** Stderr of successful plugin calls; by default forwarded to our stderr as libcni does. */
  onStderr?: (pluginType: string, text: string) => void;
  /** The descriptor of the CNI lock while the caller holds it: plugins inherit it (see PluginCall.lockFd). */
  heldLockFd?: () => number | undefined;
  /** Each finished plugin call (success or failure) with its wall time: the hook logs it (docs/performance.md). */
  onPluginDone?: (pluginType: string, verb: CniVerb, ms: number) => void;
  /**
   * A plugin's ADD or DEL the runtime may do itself, for a plugin that passes the previous result
   * through (the firewall plugin: adapters/netfilter/firewall-fast.ts): true when it is done,
   * false to run the plugin. Asked only with a previous result.
   */
  shortcut?: (plugin: PluginConf, verb: 'ADD' | 'DEL', prevResult: Record<string, unknown>) => Promise<boolean>;
}

export const DEFAULT_PLUGIN_TIMEOUT_MS = 60_000;

type RawResult = Record<string, unknown>;

export class ExecCniRuntime implements CniRuntime {
  private readonly dirs: string[];
  private readonly cache: ResultCache;
  private readonly timeoutMs: number;
  private readonly onStderr: (pluginType: string, text: string) => void;
  private readonly heldLockFd: () => number | undefined;
  private readonly onPluginDone: ((pluginType: string, verb: CniVerb, ms: number) => void) | undefined;
  private readonly shortcutFn: ExecCniRuntimeOptions['shortcut'];
  private readonly versions = new Map<string, Promise<PluginVersionInfo>>();
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(options: ExecCniRuntimeOptions) {
    this.dirs = splitCniPath(options.cniPath);
    this.cache = new ResultCache(options.cacheDir);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
    this.onStderr = options.onStderr ?? ((type, text) => requestStderr().write(`cni plugin "${type}": ${text.trimEnd()}\n`));
    this.heldLockFd = options.heldLockFd ?? (() => undefined);
    this.onPluginDone = options.onPluginDone;
    this.shortcutFn = options.shortcut;
  }

  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult> {
    validateAttachment(list.name, rt.containerId, rt.ifName);
    requirePlugins(list);
    formatCniArgs(rt.args);
    const key = keyOf(list, rt);
    return this.serialised(key, async () => {
      const entry = {
        ...key,
        config: list.bytes,
        netns: rt.netns,
        ...(rt.args ? { cniArgs: rt.args.map(([k, v]) => [k, v] as [string, string]) } : {}),
        ...(rt.capabilityArgs ? { capabilityArgs: rt.capabilityArgs } : {}),
      };
      // Unlike libcni, the entry is written before the first plugin and after
      // each one: a caller killed midway leaves what a DEL needs (the ADD's
      // arguments, and the addresses once a plugin returned them; the firewall
      // plugin and the masquerade cleanup find their rules by address).
      await this.cache.write(entry);
      let prevResult: RawResult | undefined;
      for (const plugin of list.plugins) {
        const stdout = (await this.shortcut(plugin, 'ADD', prevResult)) ?? (await this.invoke(plugin, 'ADD', list, rt, prevResult));
        prevResult = readResult(plugin, stdout, list.cniVersion);
        await this.cache.write({ ...entry, result: prevResult });
      }
      return parseResult(prevResult!, list.cniVersion);
    });
  }

  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    requirePlugins(list);
    const key = keyOf(list, rt);
    await this.serialised(key, async () => {
      // libcni: an unreadable or unconvertible cache entry must not block DEL.
      const entry = await this.cache.read(key).catch(() => undefined);
      let prevResult: RawResult | undefined;
      if (entry?.result && versionAtLeast(list.cniVersion, '0.4.0')) {
        try {
          prevResult = convertRawResult(entry.result, list.cniVersion, list.cniVersion);
        } catch {
          prevResult = undefined;
        }
      }
      // Without the netns (its container is gone), the plugins leave the host end of the veth: the
      // netns may live on in a container that joined it (`--net container:`), and the veth with it,
      // on the bridge, holding the address the DEL releases. Deleted first, so that the address is
      // never free while an interface still has it (found by the chaos soak).
      const leftVeth = rt.netns === '' && entry?.result ? await this.removeHostVeths(list, entry.result) : undefined;
      const replayed = withCachedArgs(rt, entry);
      for (const plugin of [...list.plugins].reverse()) {
        if ((await this.shortcut(plugin, 'DEL', prevResult)) === undefined) await this.invoke(plugin, 'DEL', list, replayed, prevResult);
      }
      if (leftVeth !== undefined) throw leftVeth;
      await this.cache.remove(key);
    });
  }

  async reapplyNetworkList(list: NetworkConfigList, rt: RuntimeConf, types: readonly string[]): Promise<boolean> {
    requirePlugins(list);
    const key = keyOf(list, rt);
    return this.serialised(key, async () => {
      const entry = await this.cache.read(key);
      if (!entry?.result) return false;
      const prevResult = convertRawResult(entry.result, list.cniVersion, list.cniVersion);
      const replayed = withCachedArgs(rt, entry);
      for (const plugin of list.plugins) {
        if (!types.includes(plugin.type)) continue;
        await this.invoke(plugin, 'ADD', list, replayed, prevResult);
        faultPoint(`reapplied-${plugin.type}`);
      }
      return true;
    });
  }

  /** The host ends of the veths a cached result names, deleted if still on the bridge; the failure, if any. */
  private async removeHostVeths(list: NetworkConfigList, raw: RawResult): Promise<unknown> {
    let interfaces: { name: string; sandbox?: string }[];
    try {
      interfaces = parseResult(raw, list.cniVersion).interfaces;
    } catch {
      return undefined;
    }
    const errors = new ErrorList();
    for (const { link, bridge } of hostVethsOf(list.plugins, interfaces)) await errors.attempt(() => removeVethOnBridge(link, bridge));
    return errors.errors[0];
  }

  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '0.4.0')) {
      throw invalid(`configuration version "${list.cniVersion}" does not support the CHECK command`);
    }
    if (list.disableCheck) return;
    requirePlugins(list);
    const key = keyOf(list, rt);
    await this.serialised(key, async () => {
      const entry = await this.cache.read(key);
      const prevResult = entry?.result ? convertRawResult(entry.result, list.cniVersion, list.cniVersion) : undefined;
      for (const plugin of list.plugins) await this.invoke(plugin, 'CHECK', list, rt, prevResult);
    });
  }

  async getCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<CniResult | undefined> {
    const entry = await this.cache.read(keyOf(list, rt));
    return entry?.result ? parseResult(entry.result, list.cniVersion) : undefined;
  }

  async getCachedAttachments(containerId?: string): Promise<CachedAttachment[]> {
    return (await this.cache.list(containerId)).map((e) => {
      let result: CniResult | undefined;
      try {
        result = e.result ? parseResult(e.result, resultVersion(e.result, '')) : undefined;
      } catch {
        result = undefined;
      }
      return {
        networkName: e.networkName,
        containerId: e.containerId,
        ifName: e.ifName,
        ...(e.netns ? { netns: e.netns } : {}),
        ...(e.cniArgs ? { args: e.cniArgs } : {}),
        ...(e.capabilityArgs ? { capabilityArgs: e.capabilityArgs } : {}),
        ...(e.config ? { config: e.config } : {}),
        ...(result ? { result } : {}),
      };
    });
  }

  async getVersionInfo(pluginType: string): Promise<PluginVersionInfo> {
    const pluginPath = await findPlugin(pluginType, this.dirs);
    let pending = this.versions.get(pluginPath);
    if (!pending) {
      pending = this.queryVersion(pluginType, pluginPath);
      this.versions.set(pluginPath, pending);
      pending.catch(() => this.versions.delete(pluginPath));
    }
    return pending;
  }

  async validateNetworkList(list: NetworkConfigList): Promise<void> {
    requirePlugins(list);
    for (const plugin of list.plugins) {
      const info = await this.getVersionInfo(plugin.type);
      if (!supportsVersion(info, list.cniVersion)) {
        throw new TsnerdError(
          'precondition',
          `plugin "${plugin.type}" does not support config version "${list.cniVersion}" (it supports ${info.supportedVersions.join(', ')})`,
          { details: { pluginType: plugin.type, cniVersion: list.cniVersion, supportedVersions: info.supportedVersions } },
        );
      }
    }
  }

  async gcNetworkList(list: NetworkConfigList, valid: GcAttachment[]): Promise<void> {
    if (list.disableGC) return;
    const errors = new ErrorList();
    const isValid = (a: { containerId: string; ifName: string }) =>
      valid.some((v) => v.containerId === a.containerId && v.ifName === a.ifName);
    for (const stale of (await this.cache.list()).filter((e) => e.networkName === list.name && !isValid(e))) {
      await errors.attempt(() =>
        this.delNetworkList(list, {
          containerId: stale.containerId,
          ifName: stale.ifName,
          netns: stale.netns ?? '',
          ...(stale.cniArgs ? { args: stale.cniArgs } : {}),
          ...(stale.capabilityArgs ? { capabilityArgs: stale.capabilityArgs } : {}),
        }),
      );
    }
    if (versionAtLeast(list.cniVersion, '1.1.0')) {
      const attachments = valid.map((v) => ({ containerID: v.containerId, ifname: v.ifName }));
      // cni#1101: the key was renamed after 1.1.0; libcni sends both.
      const extra = { 'cni.dev/valid-attachments': attachments, 'cni.dev/attachments': attachments };
      for (const plugin of list.plugins) {
        await errors.attempt(async () => {
          if (await this.speaks(plugin, list)) await this.invoke(plugin, 'GC', list, undefined, undefined, extra);
        });
      }
    }
    errors.throwIfAny();
  }

  async statusNetworkList(list: NetworkConfigList): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '1.1.0')) return;
    for (const plugin of list.plugins) {
      if (await this.speaks(plugin, list)) await this.invoke(plugin, 'STATUS', list, undefined);
    }
  }

  /** GC and STATUS exist only from 1.1.0: skip plugins whose VERSION does not list the list's version. */
  private async speaks(plugin: PluginConf, list: NetworkConfigList): Promise<boolean> {
    return supportsVersion(await this.getVersionInfo(plugin.type), list.cniVersion);
  }

  private async queryVersion(pluginType: string, pluginPath: string): Promise<PluginVersionInfo> {
    let stdout: string;
    try {
      stdout = await execPlugin({
        pluginPath,
        pluginType,
        verb: 'VERSION',
        // libcni sets these to "dummy" for very old plugins that demand them.
        env: { containerId: '', netns: 'dummy', ifName: 'dummy', args: '', path: 'dummy' },
        stdin: JSON.stringify({ cniVersion: CURRENT_CNI_VERSION }),
        timeoutMs: this.timeoutMs,
        onStderr: this.onStderr,
      });
    } catch (err) {
      // A plugin older than VERSION rejects the verb: it speaks 0.1.0 only (libcni).
      if (err instanceof CniPluginError && /unknown CNI_COMMAND/i.test(err.message)) return LEGACY_VERSION_INFO;
      throw err;
    }
    try {
      return decodeVersionInfo(stdout);
    } catch (err) {
      throw new CniPluginError({ pluginType, verb: 'VERSION', code: CNI_ERR_UNKNOWN, msg: (err as Error).message }, { cause: err });
    }
  }

  private async invoke(
    plugin: PluginConf,
    verb: CniVerb,
    list: NetworkConfigList,
    rt: RuntimeConf | undefined,
    prevResult?: RawResult,
    extra?: Record<string, unknown>,
  ): Promise<string> {
    const pluginPath = await findPlugin(plugin.type, this.dirs);
    const request = buildPluginRequest({
      plugin,
      networkName: list.name,
      cniVersion: list.cniVersion,
      prevResult,
      capabilityArgs: rt?.capabilityArgs,
      ...(extra ? { extra } : {}),
    });
    const started = process.uptime(); // not performance.now: perf_hooks is ~1 ms of the hook's start-up
    const call = execPlugin({
      pluginPath,
      pluginType: plugin.type,
      verb,
      env: {
        containerId: rt?.containerId ?? '',
        netns: rt?.netns ?? '',
        ifName: rt?.ifName ?? '',
        args: formatCniArgs(rt?.args),
        path: this.dirs.join(':'),
      },
      stdin: JSON.stringify(request),
      timeoutMs: this.timeoutMs,
      onStderr: this.onStderr,
      lockFd: this.heldLockFd(),
    });
    if (!this.onPluginDone) return call;
    const done = (): void => this.onPluginDone?.(plugin.type, verb, (process.uptime() - started) * 1000);
    call.then(done, done);
    return call;
  }

  /** The plugin's output (ADD: the previous result, passed through) when `shortcut` did its work; undefined to run it. */
  private async shortcut(plugin: PluginConf, verb: 'ADD' | 'DEL', prevResult: RawResult | undefined): Promise<string | undefined> {
    if (!this.shortcutFn || prevResult === undefined) return undefined;
    const started = process.uptime();
    if (!(await this.shortcutFn(plugin, verb, prevResult))) return undefined;
    this.onPluginDone?.(plugin.type, verb, (process.uptime() - started) * 1000);
    if (verb === 'ADD')
      faultPoint(`shortcut-${plugin.type}`); // its rules made, the cache entry not updated yet
    else faultPoint(`shortcut-del-${plugin.type}`); // its rules gone, the plugins before it in the list and the cache entry not yet
    return verb === 'ADD' ? JSON.stringify(prevResult) : '';
  }

  /** Runs fn after every earlier call for the same attachment has settled. */
  private async serialised<T>(key: AttachmentKey, fn: () => Promise<T>): Promise<T> {
    const id = JSON.stringify([key.networkName, key.containerId, key.ifName]);
    const before = this.busy.get(id) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(fn);
    const settled = run.catch(() => undefined);
    this.busy.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.busy.get(id) === settled) this.busy.delete(id);
    }
  }
}

/** portmap and bridge need the ADD's arguments again (DEL, reapply): the cached ones where the caller gives none. */
function withCachedArgs(rt: RuntimeConf, entry: CacheEntry | undefined): RuntimeConf {
  return {
    ...rt,
    ...(rt.args === undefined && entry?.cniArgs ? { args: entry.cniArgs } : {}),
    ...(rt.capabilityArgs === undefined && entry?.capabilityArgs ? { capabilityArgs: entry.capabilityArgs } : {}),
  };
}

function keyOf(list: NetworkConfigList, rt: RuntimeConf): AttachmentKey {
  return { networkName: list.name, containerId: rt.containerId, ifName: rt.ifName };
}

function requirePlugins(list: NetworkConfigList): void {
  if (list.plugins.length === 0) throw invalid(`network "${list.name}" has no plugins`);
}

/** A plugin's answer, checked and with its cniVersion fixed up (libcni fixupResultVersion). */
function readResult(plugin: PluginConf, stdout: string, configVersion: string): RawResult {
  try {
    const raw = JSON.parse(stdout) as unknown;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('not a JSON object');
    parseResult(raw, configVersion);
    return { ...(raw as RawResult), cniVersion: resultVersion(raw, configVersion) };
  } catch (err) {
    const reason = isTsnerdError(err) ? err.message : (err as Error).message;
    throw new CniPluginError(
      { pluginType: plugin.type, verb: 'ADD', code: CNI_ERR_UNKNOWN, msg: `invalid result: ${reason}` },
      { cause: err },
    );
  }
}
