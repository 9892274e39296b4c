/**
 * The host bridges of networks tsnerd created (the CNI bridge plugin makes the
 * link at the first attachment): the marker by which `network gc` knows that an
 * idle bridge whose network's conflist was deleted by hand is tsnerd's to
 * remove, and never another tool's. A link can be recorded for several
 * conflists: the ID (and so the bridge) of a network is the hash of its name,
 * the same in every namespace.
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
  /**
   * Recorded before the network's conflist is written. Returns the undo of
   * exactly this change: it takes the record out again unless it was there
   * already (another process created that network), and touches nothing
   * another process changed since.
   */
  record(bridge: Omit<OwnBridge, 'conflistPresent'>): Promise<() => Promise<void>>;
  /** Forgets the link's record for `file` once that conflist is gone (a record of another conflist, or one written again, stays). */
  forget(link: string, file: string): Promise<void>;
  /** One entry per link and conflist. */
  list(): Promise<OwnBridge[]>;
}
