/**
 * Where tsnerd keeps per-container state, laid out like nerdctl's data store
 * so the two tools can be read side by side:
 *
 *   <dataRoot>/<sha256(address)[:8]>/
 *     containers/<ns>/<id>/   resolv.conf, hostname, network-config.json, lifecycle.json, logs, hook logs
 *     etchosts/<ns>/<id>/     hosts, meta.json
 *     names/<ns>/<name>       the owning container ID
 *     imagecache/<digest>.json what `run` needs of an image (tsnerd only)
 *     dns/                    records.json (the resolver's record set), dns.lock, server.pid, server.log (tsnerd only)
 *     hook-server/            <build id>.{sock,pid,lock,log} while the hook server runs (tsnerd only)
 */
import { join } from 'node:path';
import { addressHash } from './settings.ts';

export class StoreLayout {
  readonly root: string;

  constructor(dataRoot: string, address: string) {
    this.root = join(dataRoot, addressHash(address));
  }

  containersDir(ns: string): string {
    return join(this.root, 'containers', ns);
  }

  /** The container's state dir (label tsnerd/state-dir). */
  containerDir(ns: string, id: string): string {
    return join(this.containersDir(ns), id);
  }

  etchostsDir(ns: string): string {
    return join(this.root, 'etchosts', ns);
  }

  hostsDir(ns: string, id: string): string {
    return join(this.etchostsDir(ns), id);
  }

  namesDir(ns: string): string {
    return join(this.root, 'names', ns);
  }

  /** The embedded resolver's records and process files; not namespaced (one resolver per store). */
  dnsDir(): string {
    return join(this.root, 'dns');
  }

  /** Not namespaced: entries are keyed by content digest. */
  imageCacheDir(): string {
    return join(this.root, 'imagecache');
  }
}

/** Files inside a container's state dir. */
export const StateFiles = {
  resolvConf: 'resolv.conf',
  hostname: 'hostname',
  networkConfig: 'network-config.json',
  lifecycle: 'lifecycle.json',
  /** The container's network endpoints (tsnerd only; lowdb document). */
  endpoints: 'endpoints.json',
  hosts: 'hosts',
  meta: 'meta.json',
  /** {kind, message} of the createRuntime hook's failure: the CLI shows it instead of runc's wrapping. */
  createRuntimeError: 'oci-hook.createRuntime.error.json',
} as const;
