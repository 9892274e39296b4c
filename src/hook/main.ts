/**
 * The OCI hook process: `tsnerd internal oci-hook <createRuntime|postStop> [global flags]`.
 * runc starts it with the container's state on stdin. It loads neither oclif
 * nor gRPC: it runs on every container start and stop.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { parseHookArgs } from './args.ts';
import { parseOciState, type HookContainer } from '../domain/oci/state.ts';
import { toTsnerdError } from '../domain/errors.ts';
import { createNetworkingDeps } from '../wiring/attach.ts';
import { setupContainerNetworks } from '../app/attach/setup.ts';
import { teardownContainerNetworks } from '../app/attach/teardown.ts';

export async function runHookMain(args: string[]): Promise<number> {
  let log: HookLog | undefined;
  try {
    const { event, settings } = parseHookArgs(args);
    const container = parseOciState(await readStdin());
    log = new HookLog(join(container.stateDir, `oci-hook.${event}.log`));
    const deps = createNetworkingDeps(settings, (line) => log?.write(line));
    deps.log(`${event} ${container.id}`);
    await runEvent(event, container, deps);
    deps.log('done');
    return 0;
  } catch (err) {
    const e = toTsnerdError(err);
    log?.write(`error: ${e.message}`);
    // runc shows the hook's stderr in the error the user gets from `run`.
    process.stderr.write(`tsnerd oci-hook: ${e.message}\n`);
    return 1;
  } finally {
    log?.close();
  }
}

async function runEvent(event: string, c: HookContainer, deps: ReturnType<typeof createNetworkingDeps>): Promise<void> {
  switch (event) {
    case 'createRuntime':
      try {
        await setupContainerNetworks(deps, c, () =>
          deps.state.writeLifecycle(c.stateDir, { started_at: new Date().toISOString(), pid: c.pid, create_error: false }),
        );
      } catch (err) {
        await deps.state.writeLifecycle(c.stateDir, { create_error: true }).catch(() => undefined);
        throw err;
      }
      return;
    case 'postStop':
      await teardownContainerNetworks(deps, c);
      return;
    default:
      throw new Error(`unknown oci-hook event "${event}"`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The hook's log in the container's state dir, truncated on every run. */
class HookLog {
  private fd: number | undefined;

  constructor(path: string) {
    try {
      this.fd = openSync(path, 'w', 0o600);
    } catch {
      this.fd = undefined; // the state dir is gone (container removed): log nowhere
    }
  }

  write(line: string): void {
    // +ms since this process started (node's start-up included): where a slow hook spends its time.
    if (this.fd !== undefined) writeSync(this.fd, `${new Date().toISOString()} +${performance.now().toFixed(0)}ms ${line}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
