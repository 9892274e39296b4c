/** Who uses a network according to the CNI result cache, whatever tool attached them (tsnerd, nerdctl, ctr). */
export interface CniUsers {
  /** CNI container IDs attached to the network whose container still runs. */
  live(network: string): Promise<string[]>;
  /** DEL of the network's cached attachments whose container is gone (its netns with it); returns their CNI container IDs. Inside withLock. */
  releaseStale(network: string): Promise<string[]>;
  /**
   * Runs fn while no attachment starts or ends (the host's CNI lock): a `run`
   * then either is a user already or finds its network gone (taken before the conf dir's lock).
   */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
}
