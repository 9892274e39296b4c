/**
 * Starts and stops the resolver process (src/dns-server/main.ts) of one data
 * store: a detached node child serving `<dns dir>/records.json`. Files in the
 * dns dir: server.pid (written by the child once it listens) and server.log
 * (its stderr). Callers serialise start and stop (the registry's dns.lock), so
 * at most one runs per store. The child never inherits the caller's stdio, so
 * a runc hook is not kept waiting on it.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { internal } from '../../domain/errors.ts';
import { daemonPid, daemonScript, isDaemon, spawnDaemon, stopDaemon } from '../host/daemon-process.ts';

export const DNS_PID_FILE = 'server.pid';
export const DNS_LOG_FILE = 'server.log';
const READY_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 2_000;
const WHAT = 'the DNS resolver';
/**
 * One malloc arena: V8's compiler threads otherwise leave per-thread arenas
 * behind, ~3 MB of the resolver's RSS after a query load (docs/performance.md).
 */
export const DNS_SERVER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };
/**
 * V8 flags of the resolver (RSS ≤ 60 MB with 500 records after a saturating
 * dnsperf run, issue 16): Maglev is its top tier (TurboFan's compiler code
 * alone pages ~6.5 MB of node's binary in, for no more queries/s with the
 * answer cache), on the main thread (no compiler or GC threads and their
 * malloc arenas), and a 1 MB semi-space. Measured in docs/performance.md.
 */
export const DNS_SERVER_NODE_FLAGS: readonly string[] = ['--max-opt=2', '--single-threaded', '--max-semi-space-size=1'];

/**
 * In the argv of a resolver that serves each network on the port its record names (`dns_bind_port`).
 * A resolver started by a tsnerd before it (still running across an upgrade) serves every gateway
 * on port 53, where the DNAT does not lead: a join of a network with a port replaces it.
 */
export const NETWORK_PORTS_ARG = '--network-ports';

/** The pid of the resolver serving dnsDir, if one runs. */
export async function dnsServerPid(dnsDir: string): Promise<number | undefined> {
  const dir = resolve(dnsDir);
  return daemonPid(join(dir, DNS_PID_FILE), 'dns-server', dir);
}

/**
 * Starts the resolver unless one runs; resolves once it has loaded the records and tried every gateway.
 * `networkPorts`: the records have a network on another port than 53, which a resolver without
 * NETWORK_PORTS_ARG (an older tsnerd's) does not serve: it is stopped and a new one started.
 */
export async function ensureDnsServer(dnsDir: string, opts: { port?: number; networkPorts?: boolean } = {}): Promise<number> {
  const dir = resolve(dnsDir);
  const running = await dnsServerPid(dir);
  if (running !== undefined) {
    if (!opts.networkPorts || (await servesNetworkPorts(running))) return running;
    await stopDnsServer(dir);
  }
  await mkdir(dir, { recursive: true });
  const args = [dir, NETWORK_PORTS_ARG, ...(opts.port === undefined ? [] : ['--port', String(opts.port)])];
  const ready = await spawnDaemon<{ ok: boolean; message?: string; pid?: number }>(daemonScript('dns-server'), args, {
    log: join(dir, DNS_LOG_FILE),
    env: DNS_SERVER_ENV,
    nodeFlags: DNS_SERVER_NODE_FLAGS,
    readyTimeoutMs: READY_TIMEOUT_MS,
    what: WHAT,
  });
  if (ready.ok && ready.pid !== undefined) return ready.pid;
  throw internal(`failed to start the DNS resolver: ${ready.message ?? 'it exited without a reason'} (see ${join(dir, DNS_LOG_FILE)})`);
}

async function servesNetworkPorts(pid: number): Promise<boolean> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return argv.includes(NETWORK_PORTS_ARG);
}

/** Stops the resolver of dnsDir, if one runs. Idempotent; never signals a pid that is not that resolver. */
export async function stopDnsServer(dnsDir: string): Promise<void> {
  const dir = resolve(dnsDir);
  const pid = await dnsServerPid(dir);
  if (pid !== undefined) await stopDaemon(pid, () => isDaemon(pid, 'dns-server', dir), { timeoutMs: EXIT_TIMEOUT_MS, what: WHAT });
  await rm(join(dir, DNS_PID_FILE), { force: true });
}
