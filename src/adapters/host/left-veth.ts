/** The host end of a container's veth left on its bridge (see hostVethsOf in domain/cni/attachment.ts). */
import { readlink, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { internal } from '../../domain/errors.ts';
import { runProcess } from './run-process.ts';

/** Deletes `link` (and so its peer, wherever it is) if it is still a port of `bridge`. */
export async function removeVethOnBridge(link: string, bridge: string): Promise<void> {
  const master = await readlink(`/sys/class/net/${link}/master`).catch(() => undefined);
  if (master === undefined || basename(master) !== bridge) return;
  const r = await runProcess('ip', ['link', 'del', 'dev', link]);
  // Gone meanwhile (its netns went): as good as deleted.
  if (r.exitCode !== 0 && (await stat(`/sys/class/net/${link}`).catch(() => undefined)) !== undefined) {
    throw internal(`ip link del ${link}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  }
}
