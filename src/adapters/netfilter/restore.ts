/** iptables-restore --noflush of commands in one table; all or nothing, so on failure one command at a time (a rule may have vanished meanwhile). */
import { runProcess } from '../host/run-process.ts';

export async function restoreEach(tool: string, table: string, commands: readonly string[]): Promise<void> {
  if (commands.length === 0) return;
  const restore = (lines: readonly string[]) =>
    runProcess(`${tool}-restore`, ['--noflush', '--wait'], { input: [`*${table}`, ...lines, 'COMMIT', ''].join('\n') });
  if ((await restore(commands)).exitCode !== 0) for (const c of commands) await restore([c]);
}

/** iptables-restore --noflush of commands in one table, all or nothing: whether it applied them. */
export async function restoreAll(tool: string, table: string, commands: readonly string[]): Promise<boolean> {
  if (commands.length === 0) return true;
  const input = [`*${table}`, ...commands, 'COMMIT', ''].join('\n');
  return (await runProcess(`${tool}-restore`, ['--noflush', '--wait'], { input })).exitCode === 0;
}
