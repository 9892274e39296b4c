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
