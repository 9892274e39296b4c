/**
 * The environment a hook's work runs with: this process's, or, in the hook
 * server (src/hook-server/main.ts), the one the current request's hook was
 * given by runc (which the CLI filled). What the hook's steps read from the
 * environment (TSNERD_FAULT, PATH for the plugins and the processes they
 * start, the port holder's knobs) reads it here, so that one server process
 * serves hooks of different callers each with its own. Node built-ins only.
 */
export type Env = Readonly<Record<string, string | undefined>>;

let envOf: () => Env | undefined = () => undefined;

/** Installed by the hook server: the current request's environment (an AsyncLocalStorage lookup). */
export function setRequestEnvProvider(provider: () => Env | undefined): void {
  envOf = provider;
}

/** The current request's environment, else this process's. */
export function requestEnv(): Env {
  return envOf() ?? process.env;
}

/**
 * What a command reads and writes besides its environment: in the CLI server
 * (src/cli/cli-server.ts), the client's working directory, its stdout and stderr
 * (frames on the client's connection), the signals it forwards and its exit
 * code; in a CLI process, the process's own.
 */
export interface RequestIo {
  /** The client's pid: the process whose limits the command's containers get, as a CLI process's own. */
  pid: number;
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Emits the signals the client received, by name ('SIGINT'). */
  signals: NodeJS.EventEmitter;
  exitCode: number | undefined;
  /** What runs when the command has ended, however it ended (onRequestEnd). */
  atEnd: (() => void)[];
}

let ioOf: () => RequestIo | undefined = () => undefined;

/** Installed by the CLI server: the current request's I/O (an AsyncLocalStorage lookup). */
export function setRequestIoProvider(provider: () => RequestIo | undefined): void {
  ioOf = provider;
}

export function requestCwd(): string {
  return ioOf()?.cwd ?? process.cwd();
}

/** The /proc directory of the process the command was typed in: the client's, or this process's. */
export function requestProc(): string {
  const pid = ioOf()?.pid;
  return pid === undefined ? '/proc/self' : `/proc/${pid}`;
}

export function requestStdout(): NodeJS.WritableStream {
  return ioOf()?.stdout ?? process.stdout;
}

export function requestStderr(): NodeJS.WritableStream {
  return ioOf()?.stderr ?? process.stderr;
}

/** The command's exit code (the container's, for an attached `run`). */
export function setRequestExitCode(code: number): void {
  const io = ioOf();
  if (io) io.exitCode = code;
  else process.exitCode = code;
}

/** Calls listener for each of the signals the command receives; returns its removal. */
export function onRequestSignal(name: NodeJS.Signals, listener: () => void): () => void {
  const emitter: NodeJS.EventEmitter = ioOf()?.signals ?? process;
  emitter.on(name, listener);
  return () => emitter.off(name, listener);
}

/** True inside a CLI server's request: the command has no stdin of its own. */
export function inRequest(): boolean {
  return ioOf() !== undefined;
}

/**
 * Runs fn when the current CLI server request has ended, however it ended: what a CLI process's
 * exit would end for it (a creation claim names the process, and a served command's process
 * lives on). Outside a request, nothing: the process's exit does it. False then.
 */
export function onRequestEnd(fn: () => void): boolean {
  const io = ioOf();
  io?.atEnd.push(fn);
  return io !== undefined;
}

/** Called by the CLI server once a request's command has ended: its onRequestEnd work, each failure left to the next. */
export function endRequest(io: RequestIo, report: (err: unknown) => void): void {
  for (const fn of io.atEnd.splice(0)) {
    try {
      fn();
    } catch (err) {
      report(err);
    }
  }
}
