/**
 * The overlay agent of one network on this host: `node main.js <state dir> [<dns dir>]`.
 * Started on demand (network create, the OCI hook) by
 * src/adapters/overlay/agent-process.ts; one instance per state dir (it
 * holds flock(agent.lock) for its lifetime; a second one exits at once).
 * Sets the VXLAN device up from the local state, then keeps the subnet lease
 * and the device's peers in line with etcd (src/app/overlay/agent.ts), and,
 * given the data store's dns dir, publishes this host's DNS names on the
 * network and keeps the other hosts' for the resolver (src/app/overlay/names.ts).
 *
 * fd 3: readiness pipe; one JSON line, {"ok":true} once the device is up (or
 * another agent already runs), else {"ok":false,"message":...} and exit 1.
 * Lean on purpose: no oclif, no containerd client, no execa.
 */
import { join, resolve } from 'node:path';
import { OverlayAgentLoop } from '../app/overlay/agent.ts';
import { OverlayNamesLoop } from '../app/overlay/names.ts';
import { parseIpv4Net } from '../domain/overlay/flannel.ts';
import type { OverlayHostState } from '../interfaces/overlay.ts';
import { readLocalRecords, watchLocalRecords, writeRemoteRecords } from '../adapters/dns/remote-records.ts';
import { AGENT_LOCK_FILE, AGENT_PID_FILE } from './files.ts';
import { envMs, holdInstanceLock, removeOwnPidFile, reportReady as report, writePidFile } from '../adapters/host/daemon-self.ts';
import { ProcessOverlayAgents, canSupervise, supervisorPid } from '../adapters/overlay/agent-process.ts';
import { openFlannelStore } from '../adapters/overlay/etcd-flannel-store.ts';
import { LinuxOverlayHost } from '../adapters/overlay/linux-overlay-host.ts';
import { STATE_FILE, readStateFile, writeStateFile } from '../adapters/overlay/lowdb-overlay-states.ts';

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} [${process.pid}] ${line}\n`);
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  const dnsDir = process.argv[3];
  if (!dir) {
    report({ ok: false, message: 'usage: overlay-agent <state dir> [<dns dir>]' });
    process.exit(2);
  }
  if (!(await holdInstanceLock(join(dir, AGENT_LOCK_FILE)))) {
    report({ ok: true, running: true });
    process.exit(0);
  }
  const state = await readStateFile(join(dir, STATE_FILE));
  if (!state) throw new Error(`no overlay state in ${dir}`);
  const store = openFlannelStore({ etcdEndpoints: state.etcdEndpoints, etcdPrefix: state.etcdPrefix });
  // Both loops change the state (the subnet lease, the names lease): one copy, written in turn.
  let current = state;
  let writing: Promise<void> = Promise.resolve();
  const save = (patch: Partial<OverlayHostState>): Promise<void> => {
    current = { ...current, ...patch };
    const snapshot = current;
    writing = writing.catch(() => undefined).then(() => writeStateFile(join(dir, STATE_FILE), snapshot));
    return writing;
  };
  const loop = new OverlayAgentLoop(
    { store, host: new LinuxOverlayHost(), saveState: (s) => save({ ...s, namesLeaseId: current.namesLeaseId }), log },
    state,
  );
  const subnet = parseIpv4Net(state.subnet);
  const names =
    dnsDir && subnet
      ? new OverlayNamesLoop(
          {
            store: store.names,
            revoke: (id) => store.revoke(id),
            readLocal: () => readLocalRecords(dnsDir),
            writeRemote: (set) => writeRemoteRecords(dnsDir, state.namespace, state.name, set),
            saveLeaseId: (id) => save({ namesLeaseId: id }),
            log,
          },
          {
            namespace: state.namespace,
            name: state.name,
            etcdPrefix: state.etcdPrefix,
            subnet,
            previousLeaseId: state.namesLeaseId,
          },
        )
      : undefined;
  await loop.setUpDevice();
  const pidFile = join(dir, AGENT_PID_FILE);
  writePidFile(pidFile);
  log(`agent of ${state.namespace}/${state.name} up: ${state.device} ${state.subnet} via ${state.publicIp}`);
  report({ ok: true, pid: process.pid });
  await loop.start();
  await names?.start();
  const unwatch = names && dnsDir ? watchLocalRecords(dnsDir, () => names.localChanged()) : undefined;
  const supervision = watchSupervisor(dir, dnsDir);
  const shutdown = async (sig: string): Promise<void> => {
    // First: a supervisor that stops this agent exits after it, and must not be replaced meanwhile.
    supervision.stop();
    log(`${sig}: stopping`);
    unwatch?.();
    await names?.stop();
    await loop.stop();
    await writing.catch(() => undefined);
    store.close();
    removeOwnPidFile(pidFile);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * The agent's side of its supervision (docs/overlay.md, "Supervision"): the supervisor starts
 * the agent again when it dies, and the agent starts a new supervisor when its own is gone
 * (kill -9), which adopts this agent (it watches it by pid); only both killed at once wait for
 * the next container start or `network gc`. Every SUPERVISOR_CHECK_MS (a pid file and /proc
 * read, ~25 us); nothing without perl (the launcher runs the agent unsupervised then).
 */
function watchSupervisor(stateDir: string, dnsDir: string | undefined): { stop(): void } {
  const every = envMs('TSNERD_OVERLAY_SUPERVISOR_CHECK_MS', SUPERVISOR_CHECK_MS);
  if (every === 0 || !canSupervise()) return { stop: () => undefined };
  const dir = resolve(stateDir);
  let stopped = false;
  let checking = false;
  const timer = setInterval(() => {
    if (stopped || checking || supervisorPid(dir) !== undefined) return;
    checking = true;
    log('the supervisor is gone: starting a new one, to watch this agent');
    new ProcessOverlayAgents(dnsDir)
      .ensure(dir)
      .catch((err: unknown) => log(`starting a supervisor failed: ${(err as Error).message}`))
      .finally(() => (checking = false));
  }, every);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

const SUPERVISOR_CHECK_MS = 2000;

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  log(`fatal: ${message}`);
  report({ ok: false, message });
  process.exit(1);
});
