/** Who uses a network according to the CNI result cache, whatever tool attached them (tsnerd, nerdctl, ctr). */
export interface CniUsers {
  /** CNI container IDs attached to the network whose container still runs. */
  live(network: string): Promise<string[]>;
  /** DEL of the network's cached attachments whose container is gone (its netns with it); returns their CNI container IDs. */
  releaseStale(network: string): Promise<string[]>;
}
