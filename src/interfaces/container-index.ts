import type { Network } from '../domain/network/network.ts';
import type { NetworkAttachment } from '../domain/network/inspect-view.ts';

export type { NetworkAttachment };

/**
 * Which containers are attached to a network: filled from the data store by
 * the container side. A network with any attachment is in use (rm and prune
 * refuse it) and the attachments are inspect's `Containers`.
 */
export interface ContainerIndex {
  /** Running or paused containers, in any namespace, attached to the network. */
  attachments(network: Network): Promise<NetworkAttachment[]>;
}
