/**
 * The container commands' work once their flags are parsed, shared by the
 * oclif commands and the fast path (src/cli/fast-path.ts); no oclif here.
 */
import { ErrorList } from '../domain/errors.ts';
import type { Settings } from '../domain/settings.ts';
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
  await withContainers(flags, async (handle, settings) => {
    const input = {
      ...toCreateInput(flags, image, args, settings.globalDns),
      detach: flags.detach === true,
      interactive: flags.interactive === true,
    };
    const result = await runContainer(handle.ctx, input);
    if (result.detached) out(result.id);
    else setRequestExitCode(result.exitCode);
  });
}

export async function createAction(flags: CreateFlagValues & GlobalFlagValues, image: string, args: string[]): Promise<void> {
  await withContainers(flags, async (handle, settings) =>
    out((await createContainer(handle.ctx, toCreateInput(flags, image, args, settings.globalDns))).id),
  );
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

async function withContainers(flags: GlobalFlagValues, fn: (handle: ContainersHandle, settings: Settings) => Promise<void>): Promise<void> {
  const settings = settingsFromFlags(flags);
  const handle = await openContainers(settings);
  try {
    await fn(handle, settings);
  } finally {
    // The command ends with containerd's last answer: `create` leaves no lease behind it (one in flight otherwise).
    await handle.close();
  }
}
