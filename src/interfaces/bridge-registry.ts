/**
 * The host bridges of networks tsnerd created (the CNI bridge plugin makes the
 * link at the first attachment): the marker by which `network gc` knows that an
 * idle bridge whose network's conflist was deleted by hand is tsnerd's to
 * remove, and never another tool's.
 */
export interface OwnBridge {
  /** The link name (`br-<id>`). */
  link: string;
  network: string;
  /** The conflist that was written for it. */
  file: string;
  /** Whether that conflist still exists. */
  conflistPresent: boolean;
}

export interface BridgeRegistry {
  /** Recorded before the network's conflist is written. */
  record(bridge: Omit<OwnBridge, 'conflistPresent'>): Promise<void>;
  forget(link: string): Promise<void>;
  list(): Promise<OwnBridge[]>;
}
