/**
 * Do tsnerd's long-lived processes grow with the containers they have served? One container
 * keeps a published port and a DNS record (so the port holder and the resolver live the whole
 * time), then CHURN_N rounds of `run -d -p` of a container on the same DNS network followed by
 * `rm -f` of it. The resident memory (VmRSS) of the port holder and the resolver, and their
 * open descriptors, are printed every CHURN_EVERY rounds. A process that keeps something per
 * container it served (a map entry, a timer, a socket, a watch) grows here; one that does not
 * stays flat after its first rounds.
 *   CHURN_N=300 scripts/node bench/churn.ts
 * Knobs: CHURN_N (300), CHURN_EVERY (50), CHURN_NAME (msch), CHURN_SUBNET (10.235.40.0/24),
 * CHURN_PORT (37700, the keeper's; each round publishes CHURN_PORT + 1).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importTestImage, startEnv, tsnerd } from '../test/e2e/harness.ts';
import { addressHash } from '../src/domain/settings.ts';

const N = Number(process.env['CHURN_N'] ?? 300);
const EVERY = Number(process.env['CHURN_EVERY'] ?? 50);
const NAME = process.env['CHURN_NAME'] ?? 'msch';
const SUBNET = process.env['CHURN_SUBNET'] ?? '10.235.40.0/24';
const PORT = Number(process.env['CHURN_PORT'] ?? 37700);

function pidIn(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** VmRSS in MiB and open descriptors of a process, or undefined when it is gone. */
function sample(pid: number | undefined): { rss: number; fds: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return { rss: kb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

async function ok(env: Awaited<ReturnType<typeof startEnv>>, args: string[]): Promise<void> {
  const r = await tsnerd(env, args);
  if (r.exitCode !== 0) throw new Error(`tsnerd ${args.join(' ')}: ${r.stderr}`);
}

const env = await startEnv(NAME);
try {
  await importTestImage(env);
  await ok(env, ['network', 'create', NAME, '--subnet', SUBNET]);
  await ok(env, ['run', '-d', '--name', `${NAME}-keep`, '--net', NAME, '-p', `127.0.0.1:${PORT}:80`, 'busybox', 'sleep', '100000']);
  const holderPid = () => pidIn(join(env.dataRoot, 'portholder', 'holder.pid'));
  const resolverPid = () => pidIn(join(env.dataRoot, addressHash(env.address), 'dns', 'server.pid'));
  const first = { holder: holderPid(), resolver: resolverPid() };
  const row = (round: number) => {
    const h = sample(holderPid());
    const r = sample(resolverPid());
    const same = holderPid() === first.holder && resolverPid() === first.resolver ? '' : ' (a process was replaced)';
    const show = (s: { rss: number; fds: number } | undefined) => (s ? `${s.rss.toFixed(1)} MiB ${s.fds} fds` : 'gone');
    console.log(`round ${String(round).padStart(4)}: port holder ${show(h)}, resolver ${show(r)}${same}`);
  };
  row(0);
  for (let i = 1; i <= N; i++) {
    const name = `${NAME}-c`;
    await ok(env, ['run', '-d', '--name', name, '--net', NAME, '-p', `127.0.0.1:${PORT + 1}:80`, 'busybox', 'sleep', '100000']);
    await ok(env, ['rm', '-f', name]);
    if (i % EVERY === 0) row(i);
  }
} finally {
  await tsnerd(env, ['rm', '-f', `${NAME}-keep`, `${NAME}-c`]);
  await tsnerd(env, ['network', 'rm', NAME]);
  await env.stop();
}
