/** Connecting a container process's stdio to ours, or to its log file. */
import type { TaskStdio } from './container-runtime.ts';

export interface AttachedIo {
  /** FIFO paths to hand to Tasks.Create / Tasks.Exec. */
  stdio: TaskStdio;
  /** Resolves when stdout and stderr reached end of file. */
  drained: Promise<void>;
  /** Resolves when our stdin ended and was flushed into the process (only with `stdin`). */
  stdinEnded: Promise<void>;
  /**
   * The shim has opened its ends of the FIFOs (Tasks.Create returned; Tasks.Start for an exec):
   * our own write ends, which kept the readers from an early end of file, close, so that
   * `drained` comes when the process and every other writer have closed their ends.
   */
  taskCreated(): void;
  /** Unblocks anything still waiting on a FIFO, stops reading and removes them. Safe to call twice. */
  close(): Promise<void>;
}

export interface ProcessIo {
  /** Makes FIFOs in `dir` and copies them to our stdout/stderr (and our stdin in). */
  attach(dir: string, options: { stdin: boolean }): Promise<AttachedIo>;
  /** stdio that makes the shim append stdout and stderr to `logPath`. */
  logTo(logPath: string): TaskStdio;
  /** Passes the signals we receive (INT, TERM, HUP...) to `handler` until the returned function is called. */
  forwardSignals(handler: (signal: number) => void): () => void;
  /** Prints the log; with `followUntil`, keeps printing new output until it settles. */
  printLog(logPath: string, followUntil?: Promise<unknown>): Promise<void>;
}
