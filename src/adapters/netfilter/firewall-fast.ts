/**
 * The firewall plugin's ADD done by one iptables-restore per address family when the
 * objects it shares with other containers are all there, and its DEL when the container's
 * rules all are (domain/netfilter/firewall-plugin.ts); otherwise the caller runs the plugin.
 */
import { existsSync } from 'node:fs';
import { firewallAddOutcome, firewallAddScripts, firewallDelScripts, firewallUndoScript } from '../../domain/netfilter/firewall-plugin.ts';
import { runProcess } from '../host/run-process.ts';

/**
 * Without a `backend`, the plugin uses firewalld when it runs: then the plugin decides. Whether
 * firewalld is installed is looked at once per process (two stats, no D-Bus round trip).
 */
let firewalldInstalled: boolean | undefined;
function firewalld(): boolean {
  firewalldInstalled ??= ['/usr/sbin/firewalld', '/usr/bin/firewalld'].some((p) => existsSync(p));
  return firewalldInstalled;
}

/**
 * True when the plugin's ADD is done (its rules appended, every shared rule found, stale copies
 * of them removed); false when the plugin must run, its appends undone if a check failed after
 * them (one more restore, on that path only). A family that succeeded before another failed is
 * harmless: the plugin appends a rule only where it finds none.
 */
export async function firewallAddFast(conf: Record<string, unknown>, prev: Record<string, unknown>): Promise<boolean> {
  const scripts = firewallAddScripts(conf, prev);
  if (!scripts || (conf['backend'] === undefined && firewalld())) return false;
  for (const s of scripts) {
    const tool = s.family === 6 ? 'ip6tables-restore' : 'iptables-restore';
    const ran = await runProcess(tool, ['--noflush', '--wait'], { input: s.script });
    const outcome = firewallAddOutcome(s, ran.exitCode, ran.stderr);
    if (outcome === 'done') continue;
    if (outcome === 'undo') await runProcess(tool, ['--noflush', '--wait'], { input: firewallUndoScript(s) });
    return false;
  }
  return true;
}

/**
 * True when the plugin's DEL is done (every rule of the container's was there and is gone);
 * false when the plugin must run. A family done before another failed is harmless: the plugin
 * ignores the rules it does not find.
 */
export async function firewallDelFast(conf: Record<string, unknown>, prev: Record<string, unknown>): Promise<boolean> {
  return restoreAll(conf, firewallDelScripts(conf, prev));
}

async function restoreAll(conf: Record<string, unknown>, scripts: { family: 4 | 6; script: string }[] | undefined): Promise<boolean> {
  if (!scripts) return false;
  if (conf['backend'] === undefined && firewalld()) return false;
  for (const { family, script } of scripts) {
    const done = await runProcess(family === 6 ? 'ip6tables-restore' : 'iptables-restore', ['--noflush', '--wait'], { input: script });
    if (done.exitCode !== 0) return false;
  }
  return true;
}
