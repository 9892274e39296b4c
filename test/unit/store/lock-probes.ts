/** What the lock tests look at from outside: another process's view of a lock, and this process's perl children. */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Whether another process could take the lock right now (flock -n). */
export function othersCanLock(path: string, mode: '-x' | '-s'): boolean {
  return spawnSync('flock', ['-n', mode, path, 'true']).status === 0;
}

/** This process's children named `comm` (the lock helpers are perl processes). */
export function children(comm = 'perl'): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.includes(`(${comm})`) && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
