/** A bridge that can no longer take its first container (see AttachDeps.removeDeadBridge). */
import { readdir, readFile } from 'node:fs/promises';
import { runProcess } from './run-process.ts';

const ZERO_MAC = '00:00:00:00:00:00';

export async function removeDeadBridge(link: string): Promise<void> {
  const sys = `/sys/class/net/${link}`;
  const mac = (await readFile(`${sys}/address`, 'utf8').catch(() => '')).trim();
  if (mac !== ZERO_MAC) return; // missing, or a usable bridge
  const ports = await readdir(`${sys}/brif`).catch(() => ['?']);
  if (ports.length > 0) return;
  await runProcess('ip', ['link', 'del', 'dev', link]);
}
