import type { NetworkConfigList } from '../domain/cni/net-conf.ts';

/**
 * Whether a createRuntime's ADD may take the CNI lock shared, beside other
 * containers' ADDs, instead of exclusive (domain/cni/shared-add.ts).
 */
export interface SharedAddGate {
  /** true when every list is sharable and its bridge was set up by an exclusive ADD (with ports when `ports`) on this bridge and boot. */
  allows(lists: readonly NetworkConfigList[], ports: boolean): Promise<boolean>;
  /** After a successful exclusive ADD (the lock still held): remembers the sharable lists' bridges as set up. */
  remember(lists: readonly NetworkConfigList[], ports: boolean): Promise<void>;
}
