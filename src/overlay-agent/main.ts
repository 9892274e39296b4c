/**
 * The overlay agent of one network on this host: `node main.js <state dir>`.
 * Started on demand (network create, the OCI hook) by
 * src/adapters/overlay/agent-process.ts; one instance per state dir (it
 * holds flock(agent.lock) for its lifetime; a second one exits at once).
 * Sets the VXLAN device up from the local state, then keeps the subnet lease
 * and the device's peers in line with etcd (src/app/overlay/agent.ts).
 *
 * fd 3: readiness pipe; one JSON line, {"ok":true} once the device is up (or
 * another agent already runs), else {"ok":false,"message":...} and exit 1.
 * Lean on purpose: no oclif, no containerd client, no execa.
 */
import { join } from 'node:path';
import { OverlayAgentLoop } from '../app/overlay/agent.ts';
import { AGENT_LOCK_FILE, AGENT_PID_FILE } from './files.ts';
import { holdInstanceLock, removeOwnPidFile, reportReady as report, writePidFile } from '../adapters/host/daemon-self.ts';
import { openFlannelStore } from '../adapters/overlay/etcd-flannel-store.ts';
import { LinuxOverlayHost } from '../adapters/overlay/linux-overlay-host.ts';
import { STATE_FILE, readStateFile, writeStateFile } from '../adapters/overlay/lowdb-overlay-states.ts';

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} [${process.pid}] ${line}\n`);
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) {
    report({ ok: false, message: 'usage: overlay-agent <state dir>' });
    process.exit(2);
  }
  if (!(await holdInstanceLock(join(dir, AGENT_LOCK_FILE)))) {
    report({ ok: true, running: true });
    process.exit(0);
  }
  const state = await readStateFile(join(dir, STATE_FILE));
  if (!state) throw new Error(`no overlay state in ${dir}`);
  const store = openFlannelStore({ etcdEndpoints: state.etcdEndpoints, etcdPrefix: state.etcdPrefix });
  const loop = new OverlayAgentLoop(
    { store, host: new LinuxOverlayHost(), saveState: (s) => writeStateFile(join(dir, STATE_FILE), s), log },
    state,
  );
  await loop.setUpDevice();
  const pidFile = join(dir, AGENT_PID_FILE);
  writePidFile(pidFile);
  log(`agent of ${state.namespace}/${state.name} up: ${state.device} ${state.subnet} via ${state.publicIp}`);
  report({ ok: true, pid: process.pid });
  await loop.start();
  const shutdown = async (sig: string): Promise<void> => {
    log(`${sig}: stopping`);
    await loop.stop();
    store.close();
    removeOwnPidFile(pidFile);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  log(`fatal: ${message}`);
  report({ ok: false, message });
  process.exit(1);
});
