/**
 * What tells one host boot and one containerd start from the next, and the
 * one tsnerd saw last: the first attachment after a change reconciles what
 * the tasks that died with the old ones left (see app/attach/after-restart.ts).
 */
export interface RestartMarker {
  /** The boot ID and containerd's start (its socket's change time), now. */
  current(): Promise<string>;
  /** The marker remembered by the last reconciliation; undefined before the first. */
  remembered(): Promise<string | undefined>;
  remember(marker: string): Promise<void>;
}
