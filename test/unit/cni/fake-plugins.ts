/**
 * Throwaway CNI plugins for unit tests: sh scripts in a temp CNI_PATH that log
 * each call (verb, type, env, stdin) and reply with scripted output per verb.
 */
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Reply {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  sleepSeconds?: number;
}

export interface Call {
  verb: string;
  type: string;
  env: Record<string, string>;
  stdin: string;
  /** stdin parsed as JSON, or undefined when it is not JSON. */
  request: Record<string, unknown> | undefined;
}

export interface FakePlugins {
  root: string;
  binDir: string;
  cacheDir: string;
  write(type: string, replies: Partial<Record<string, Reply>>): Promise<void>;
  calls(): Promise<Call[]>;
  cleanup(): Promise<void>;
}

const quoteHeredoc = (text: string, tag: string, fd = ''): string => `cat ${fd}<<'${tag}'\n${text}\n${tag}\n`;

export async function fakePlugins(): Promise<FakePlugins> {
  const root = await mkdtemp(join(tmpdir(), 'tsnerd-cni-unit-'));
  const binDir = join(root, 'bin');
  const recDir = join(root, 'rec');
  const cacheDir = join(root, 'cache');
  await Promise.all([mkdir(binDir), mkdir(recDir)]);
  return {
    root,
    binDir,
    cacheDir,
    async write(type, replies) {
      const cases = Object.entries(replies)
        .map(([verb, r]) => {
          const body = [
            r!.sleepSeconds ? `sleep ${r!.sleepSeconds}\n` : '',
            r!.stdout !== undefined ? quoteHeredoc(r!.stdout, 'OUT') : '',
            r!.stderr !== undefined ? quoteHeredoc(r!.stderr, 'ERR', '>&2 ') : '',
            `exit ${r!.exitCode ?? 0}\n`,
          ].join('');
          return `${verb})\n${body};;`;
        })
        .join('\n');
      const script = `#!/bin/sh
input=$(cat)
# mkdir is atomic: it hands out call numbers even to concurrent calls.
n=0; while ! mkdir "${recDir}/$n.lock" 2>/dev/null; do n=$((n+1)); done
printf '%s %s' "$CNI_COMMAND" "${type}" > "${recDir}/$n.call"
printf '%s' "$input" > "${recDir}/$n.stdin"
env | grep '^CNI_' > "${recDir}/$n.env"
case "$CNI_COMMAND" in
${cases}
esac
exit 0
`;
      const path = join(binDir, type);
      await writeFile(path, script);
      await chmod(path, 0o755);
    },
    async calls() {
      const names = (await readdir(recDir)).filter((n) => n.endsWith('.call'));
      const numbers = names.map((n) => Number(n.split('.')[0])).sort((a, b) => a - b);
      return Promise.all(
        numbers.map(async (n) => {
          const [verb, type] = (await readFile(join(recDir, `${n}.call`), 'utf8')).split(' ') as [string, string];
          const stdin = await readFile(join(recDir, `${n}.stdin`), 'utf8');
          const envText = await readFile(join(recDir, `${n}.env`), 'utf8');
          const env = Object.fromEntries(
            envText
              .split('\n')
              .filter((l) => l !== '')
              .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
          );
          let request: Record<string, unknown> | undefined;
          try {
            request = JSON.parse(stdin) as Record<string, unknown>;
          } catch {
            request = undefined;
          }
          return { verb, type, env, stdin, request };
        }),
      );
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** A 1.0.0 result with one container interface and address, as bridge would answer. */
export function result(extra: Record<string, unknown> = {}, version = '1.0.0'): string {
  return JSON.stringify({
    cniVersion: version,
    interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/x' }],
    ips: [{ address: '10.201.0.2/24', gateway: '10.201.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
    ...extra,
  });
}
