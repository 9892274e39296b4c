/**
 * The container commands' work once their flags are parsed, shared by the
 * oclif commands and the fast path (src/cli/fast-path.ts); no oclif here.
 */
import { ErrorList } from '../domain/errors.ts';
import { createContainer } from '../app/containers/create-container.ts';
import { removeContainer } from '../app/containers/remove-container.ts';
import { runContainer } from '../app/containers/run-container.ts';
import { startContainer } from '../app/containers/start-container.ts';
import { openContainers, type ContainersHandle } from '../wiring/containers.ts';
import { toCreateInput, type CreateFlagValues } from './create-input.ts';
import { out, settingsFromFlags, type GlobalFlagValues } from './global-flags.ts';
import { setRequestExitCode } from '../adapters/host/request-env.ts';

export type RunFlagValues = CreateFlagValues & GlobalFlagValues & { detach?: boolean | undefined; interactive?: boolean | undefined };

/** `run [flags] IMAGE [ARG...]`: prints the ID with -d, else sets the exit code to the container's. */
export async function runAction(flags: RunFlagValues, image: string, args: string[]): Promise<void> {
  const input = { ...toCreateInput(flags, image, args), detach: flags.detach === true, interactive: flags.interactive === true };
  await withContainers(flags, async (handle) => {
    const result = await runContainer(handle.ctx, input);
    if (result.detached) out(result.id);
    else setRequestExitCode(result.exitCode);
  });
}

export async function createAction(flags: CreateFlagValues & GlobalFlagValues, image: string, args: string[]): Promise<void> {
  const input = toCreateInput(flags, image, args);
  await withContainers(flags, async (handle) => out((await createContainer(handle.ctx, input)).id));
}

export async function startAction(flags: GlobalFlagValues, refs: string[]): Promise<void> {
  await withContainers(flags, async (handle) => {
    for (const ref of refs) {
      await startContainer(handle.ctx, ref);
      out(ref);
    }
  });
}

export async function rmAction(flags: GlobalFlagValues & { force?: boolean | undefined }, refs: string[]): Promise<void> {
  // As Docker: every container is tried; the removed ones are printed, the failures reported together (exit 1).
  const errors = new ErrorList();
  await withContainers(flags, async (handle) => {
    for (const ref of refs) {
      await errors.attempt(async () => {
        await removeContainer(handle.ctx, ref, { force: flags.force === true });
        out(ref);
      });
    }
  });
  errors.throwIfAny();
}

async function withContainers(flags: GlobalFlagValues, fn: (handle: ContainersHandle) => Promise<void>): Promise<void> {
  const handle = await openContainers(settingsFromFlags(flags));
  try {
    await fn(handle);
  } finally {
    // The command ends with containerd's last answer: `create` leaves no lease behind it (one in flight otherwise).
    await handle.close();
  }
}
