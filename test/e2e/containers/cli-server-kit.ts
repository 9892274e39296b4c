/**
 * What the CLI server's e2e files share: the client and bundle of this checkout's build, the
 * live server of an env's data root, and a served command (the client in front of a "node"
 * that fails: exit 1 and no output unless the server ran the command).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { closeEnv, holdingTuning, importTestImage, ok, startEnv, waitFor, type TestEnv } from '../harness.ts';

export const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
export const CLIENT = join(REPO, 'dist/cli/cli-client.pl');
export const BUNDLE = join(REPO, 'dist/cli/fast-main.cjs');

/** The build id the server's socket and pid file are named by (the bundle's first line). */
export const buildId = (): string => /^\/\/ tsnerd-build:([0-9a-f]{12})/.exec(readFileSync(BUNDLE, 'utf8').slice(0, 64))![1]!;

export const serverDir = (env: TestEnv): string => join(env.dataRoot, 'cli-server');

/** The pid in the env's server pid file, if any. */
export function serverPid(env: TestEnv): number | undefined {
  try {
    return Number(readFileSync(join(serverDir(env), `${buildId()}.pid`), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export const alive = (pid: number): boolean =>
  existsSync(`/proc/${pid}`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

export const liveServer = (env: TestEnv): Promise<number> =>
  waitFor(
    'a live CLI server',
    () => {
      const pid = serverPid(env);
      return pid !== undefined && alive(pid) ? pid : false;
    },
    15_000,
  );

/** A served command, its stdin closed; `prefix` runs the client under another command, `extraEnv` adds to the env's. */
export function served(env: TestEnv, args: string[], opts: { extraEnv?: Record<string, string>; prefix?: string[] } = {}) {
  const [cmd, ...pre] = [...(opts.prefix ?? []), 'perl', CLIENT, BUNDLE, '1', '/bin/false', ...args];
  return execa(cmd!, pre, { env: { ...env.env, ...opts.extraEnv }, reject: false, stdin: 'ignore' });
}

/**
 * An env whose tuning plugin holds every ADD while `<pluginDir>/hold` exists (holdingTuning,
 * marking `<pluginDir>/added.<CNI ID>`), the CLI server's idle exit at `idleMs`, and network
 * `net` with its bridge made (so that a held ADD is the only thing a run waits for).
 */
export async function startHeldEnv(
  name: string,
  opts: { idleMs: number; net: string; subnet: string; pollSeconds?: number },
): Promise<{ env: TestEnv; pluginDir: string }> {
  const env = await startEnv(name);
  env.env['TSNERD_CLI_SERVER_IDLE_MS'] = String(opts.idleMs);
  await importTestImage(env);
  const pluginDir = join(env.dir, `${name}-plugins`);
  await mkdir(pluginDir);
  await holdingTuning(pluginDir, env.cniPath, `${join(pluginDir, 'added')}.$CNI_CONTAINERID`, opts.pollSeconds);
  env.env['CNI_PATH'] = `${pluginDir}:${env.cniPath}`;
  await ok(env, ['network', 'create', opts.net, '--subnet', opts.subnet]);
  await ok(env, ['run', '--rm', '--net', opts.net, 'busybox', 'true']); // the bridge
  return { env, pluginDir };
}

/** The after hook of startHeldEnv's file: nothing held, the env closed, its CLI server gone. */
export async function closeHeldEnv(env: TestEnv | undefined, pluginDir: string | undefined, net: string): Promise<void> {
  const pid = env ? serverPid(env) : undefined;
  if (pluginDir) await rm(join(pluginDir, 'hold'), { force: true });
  await closeEnv(env, [net]);
  if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
}

/** A served attached command in the background, once its output has shown `word`. */
export async function servedUntil(env: TestEnv, args: string[], word: string) {
  const child = spawn('perl', [CLIENT, BUNDLE, '1', '/bin/false', ...args], { env: env.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = { out: '', err: '' };
  child.stdout.on('data', (d: Buffer) => (seen.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (seen.err += d.toString()));
  const code = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  await waitFor(`the container to print "${word}"`, () => seen.out.includes(word), 30_000);
  return { child, code, seen };
}
