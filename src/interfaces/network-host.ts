import type { Cidr } from '../domain/network/cidr.ts';
import type { ConflistTemplates } from '../domain/network/conflist-schema.ts';

/** What network management needs from the host. */
export interface NetworkHost {
  /** The networks of every address on the host's interfaces (for overlap checks). */
  /** Subnets of the host's interface addresses, except those on the links named in `exceptLinks`. */
  interfaceSubnets(exceptLinks?: readonly string[]): Promise<Cidr[]>;
  /** The plugin types that are not installed in CNI_PATH. */
  missingPlugins(types: readonly string[]): Promise<string[]>;
  /** What a plugin prints about itself when run without CNI_COMMAND ("" if it cannot run). */
  pluginAbout(type: string): Promise<string>;
  /** Deletes a link such as a network's bridge; an absent link is not an error. */
  deleteLink(name: string): Promise<void>;
  /**
   * Deletes the rules of a bridge that is gone: the firewall plugin's isolation rules (no DEL removes
   * them) and tsnerd's DNS rules (domain/netfilter/dns-input.ts). The caller holds the CNI lock.
   */
  removeBridgeRules(bridge: string): Promise<void>;
  /**
   * Removes host-local's directory of a removed network (`<dataDir>/<network>/`, default
   * /var/lib/cni/networks) if it holds nothing but host-local's bookkeeping (`lock`,
   * `last_reserved_ip.*`); one holding an allocation (an IP file) is kept. The caller holds the CNI lock.
   */
  removeHostLocalDir(network: string, dataDir: string | undefined): Promise<void>;
  /** What makes this host's automatic IPv6 prefix its own (domain/network/ula.ts): its machine ID. */
  machineId(): Promise<string>;
  /** The conflist skeletons of templates/, validated. */
  templates(): Promise<ConflistTemplates>;
}
