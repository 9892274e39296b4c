/**
 * The embedded DNS resolver of tsnerd's bridge networks: one process per data
 * store, serving every DNS-enabled network on its gateway address (UDP and
 * TCP 53, or the network's own port, `dns_bind_port`, from its record). Its inputs are the record set the OCI hook keeps in
 * `<dns dir>/records.json`: a change there (inotify, plus a 1 s mtime check)
 * is served from the next query on, so a crash or a kill loses nothing; and
 * the other hosts' names of overlay networks, `<dns dir>/remote-*.json`, kept
 * by the overlay agents (inotify and the 1 s check).
 * With no container left for 5 s it exits (see exitIfIdle).
 * Started and stopped by src/adapters/dns/process-dns-server.ts.
 *
 * argv: <dns dir> [--network-ports] [--port N] (--network-ports marks a resolver that serves each network on the
 * port its record names, for the hook to tell it from an older tsnerd's; --port: the port of networks whose record names none, 53 by default: tests and
 * benchmarks; a network's own port, `dns_bind_port`, is in its record)
 * fd 3 (optional): readiness pipe, one JSON line {"ok":true,"pid":...} once the
 * records are loaded and every gateway was tried. The pid file
 * (<dns dir>/server.pid) is written before that line.
 */
import { existsSync, readFileSync, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import {
  emptyRecordSet,
  hasEndpoints,
  isRemoteRecordsFile,
  parseRecordSet,
  parseRemoteRecordSet,
  type DnsRecordSet,
  type RemoteRecordSet,
} from '../domain/dns/records.ts';
import { withFlock } from '../adapters/store/flock.ts';
import { removeOwnPidFile, reportReady, writePidFile } from '../adapters/host/daemon-self.ts';
import { DnsZones } from '../domain/dns/zone.ts';
import { handleQuery } from './handler.ts';
import { ResolvConfForwarder } from './forwarder.ts';
import { GatewayListeners } from './listeners.ts';

export const RECORDS_FILE = 'records.json';
export const PID_FILE = 'server.pid';
/** Overrides the host's resolv.conf as the source of upstream servers when present. */
export const UPSTREAM_FILE = 'resolv.conf';
/** Shared with the hook's record changes (src/adapters/dns/store-dns-registry.ts). */
export const LOCK_FILE = 'dns.lock';
const POLL_MS = 1_000;
const READ_THROUGH_MS = 1;
/** With no container left for this long, the resolver exits (a `run --rm` loop keeps one resolver). */
const IDLE_EXIT_MS = 5_000;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

function parseArgs(argv: readonly string[]): { dir: string; port: number } {
  const [dir, ...rest] = argv;
  if (!dir) throw new Error('usage: dns-server <dns dir> [--network-ports] [--port N]');
  let port = 53;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    // --network-ports: only a mark in argv, for the hook (process-dns-server.ts): this resolver serves each network on its port.
    if (arg === '--network-ports') continue;
    if (arg !== '--port') throw new Error(`unknown argument "${arg}"`);
    const value = rest[++i];
    port = Number(value);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid port "${value}"`);
  }
  return { dir, port };
}

class RecordSource {
  private readonly dir: string;
  private readonly path: string;
  private stamp = '';
  private remoteStamp = '';
  private local: DnsRecordSet = emptyRecordSet();
  private remote: RemoteRecordSet[] = [];
  private remoteByFile = new Map<string, RemoteRecordSet>();
  zones = new DnsZones(emptyRecordSet());
  /** Whether any container is left to serve. */
  hasEndpoints = false;

  constructor(dir: string) {
    this.dir = dir;
    this.path = join(dir, RECORDS_FILE);
  }

  /**
   * Re-reads the records when they changed; false when they did not. A broken file keeps the
   * last good records. `remote`: also the other hosts' names of overlay networks (their files
   * are listed, which the per-query read-through does not do: inotify and the 1 s poll do).
   */
  reload(remote = false): boolean {
    const changed = this.reloadLocal();
    if (!(remote && this.reloadRemote()) && !changed) return false;
    this.zones = new DnsZones(this.local, this.remote);
    return true;
  }

  private reloadLocal(): boolean {
    const st = statSync(this.path, { throwIfNoEntry: false });
    const stamp = st ? `${st.ino}:${st.mtimeMs}:${st.size}` : 'none';
    if (stamp === this.stamp) return false;
    this.stamp = stamp;
    if (!st) {
      this.local = emptyRecordSet();
      this.hasEndpoints = false;
      return true;
    }
    try {
      this.local = parseRecordSet(JSON.parse(readFileSync(this.path, 'utf8')));
      this.hasEndpoints = hasEndpoints(this.local);
    } catch (err) {
      log(`ignoring ${this.path}: ${(err as Error).message}`);
    }
    return true;
  }

  private reloadRemote(): boolean {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter(isRemoteRecordsFile).sort();
    } catch {
      /* the dir is gone: sync() exits */
    }
    const stats = names.flatMap((name) => {
      const st = statSync(join(this.dir, name), { throwIfNoEntry: false });
      return st ? [{ name, stamp: `${name}:${st.ino}:${st.mtimeMs}:${st.size}` }] : [];
    });
    const stamp = stats.map((s) => s.stamp).join(' ');
    if (stamp === this.remoteStamp) return false;
    this.remoteStamp = stamp;
    const next = new Map<string, RemoteRecordSet>();
    for (const { name } of stats) {
      try {
        next.set(name, parseRemoteRecordSet(JSON.parse(readFileSync(join(this.dir, name), 'utf8'))));
      } catch (err) {
        // That file's last good records stay (it is written by rename: only a bad writer gets here).
        const last = this.remoteByFile.get(name);
        if (last) next.set(name, last);
        log(`ignoring ${name}: ${(err as Error).message}`);
      }
    }
    this.remoteByFile = next;
    this.remote = [...next.values()];
    return true;
  }
}

async function main(): Promise<void> {
  const { dir, port } = parseArgs(process.argv.slice(2));
  // Small buffers of their own instead of slices of 8 KiB pool slabs: under a query load, a slab
  // that is the pool during two scavenges is promoted and its 8 KiB are freed only by a full GC,
  // which the small old generation rarely needs: RSS grew by 10-40 MB per saturating dnsperf run.
  Buffer.poolSize = 0;
  const source = new RecordSource(dir);
  const forwarder = new ResolvConfForwarder([join(dir, UPSTREAM_FILE), '/etc/resolv.conf'], (ip) => source.zones.hasGateway(ip));
  // Read-through: a query more than 1 ms after the last look checks the file's stamp first, so the
  // first query after `run` sees its records even when inotify's event has not been handled yet.
  // A timer ends the 1 ms (at most 1000 a second under load): no clock read per query, which
  // Maglev, the resolver's top tier, makes through node's slow performance.now path.
  let looked = false;
  const lookAgain = (): void => {
    looked = false;
  };
  const fresh = (): void => {
    if (looked) return;
    looked = true;
    setTimeout(lookAgain, READ_THROUGH_MS);
    if (source.reload()) void sync();
  };
  const listeners = new GatewayListeners(
    (msg, gateway, from, transport, cache) => {
      fresh();
      return handleQuery(msg, { zones: source.zones, cache, forwarder, gateway, source: from, transport });
    },
    log,
    port,
  );

  const pidFile = join(dir, PID_FILE);
  const stop = (): void => {
    listeners.closeAll();
    removeOwnPidFile(pidFile);
    process.exit(0);
  };

  let syncing: Promise<void> | undefined;
  let again = false;
  const sync = (): Promise<void> => {
    if (syncing) {
      again = true;
      return syncing;
    }
    syncing = (async () => {
      if (!existsSync(dir)) {
        // The data store is gone (removed by hand, or a test env torn down): nothing left to serve.
        log(`${dir} is gone: exiting`);
        process.exit(0);
      }
      do {
        again = false;
        source.reload(true);
        // Also after a read-through reload (fresh): cheap when the gateways are unchanged.
        await listeners.reconcile(source.zones.listenAddresses(port));
      } while (again);
      idleSince = source.hasEndpoints ? undefined : (idleSince ?? Date.now());
      if (idleSince !== undefined && Date.now() - idleSince >= IDLE_EXIT_MS) await exitIfIdle();
    })().finally(() => (syncing = undefined));
    return syncing;
  };
  let idleSince: number | undefined;

  /**
   * Under the lock the hook holds while it changes the records and looks for a
   * running resolver: either a join came first (there are endpoints again: stay),
   * or it comes after the pid file is gone and this process has exited, and
   * starts a new resolver.
   */
  const exitIfIdle = (): Promise<void> =>
    withFlock(join(dir, LOCK_FILE), async () => {
      source.reload();
      if (source.hasEndpoints) {
        idleSince = undefined;
        return;
      }
      log('no container left: exiting');
      stop();
    });

  await sync();
  // The file is replaced by rename: watch the directory.
  watch(dir, { persistent: false }, (_event, name) => {
    if (name === RECORDS_FILE || name === null || isRemoteRecordsFile(name)) void sync();
  }).on('error', (err) => log(`watch: ${err.message}`));
  setInterval(() => void sync(), POLL_MS);

  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  writePidFile(pidFile);
  const failed = Object.fromEntries(listeners.failures());
  log(`ready: ${source.zones.gateways().length} gateways, port ${port}`);
  reportReady({ ok: true, pid: process.pid, failed });
}

// No top-level await: the build bundles this entry into CommonJS (scripts/bundle-dns-server.ts).
main().catch((err: unknown) => {
  reportReady({ ok: false, message: (err as Error).message });
  log(`fatal: ${(err as Error).message}`);
  process.exit(1);
});
