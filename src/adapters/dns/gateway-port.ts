/**
 * Whether the resolver can have port 53 of a network's gateway (podman#15452):
 * another DNS server on the host bound to the wildcard address (dnsmasq's
 * default, BIND, a container publishing 0.0.0.0:53) takes every address's
 * port 53, the resolver's bind fails, and the containers' queries to the
 * gateway reach that server, which does not know their names. Found before a
 * gateway enters the record set (the first container of a network), the start
 * fails with one line naming the address and the process that holds it, instead
 * of containers silently getting another server's answers.
 *
 * A test bind of the gateway's port, UDP and TCP, by the hook itself; only when
 * it fails are /proc/net and the processes' descriptors read to name the holder.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { conflict } from '../../domain/errors.ts';
import type { Protocol } from '../../domain/publish/port-mapping.ts';
import { readBoundSockets, type BoundSocket } from '../host/proc-net-ports.ts';

export interface GatewayToCheck {
  network: string;
  gateway: string;
  /** The port the resolver will listen on there (`dns_bind_port`); the caller's `port` when unset. */
  port?: number;
}

/** A bind's errno code, or undefined once the port could be bound (and was let go at once). */
function tryBind(protocol: Protocol, ip: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const failed = (err: NodeJS.ErrnoException): void => resolve(err.code ?? String(err));
    if (protocol === 'udp') {
      const s = createSocket(isIPv6(ip) ? 'udp6' : 'udp4');
      s.once('error', (err) => {
        s.close();
        failed(err);
      });
      s.bind({ address: ip, port, exclusive: true }, () => s.close(() => resolve(undefined)));
      return;
    }
    const server = createServer();
    server.once('error', failed);
    server.listen({ host: ip, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

let warmedUp: Promise<unknown> | undefined;

/**
 * One UDP bind and one TCP listen on 127.0.0.1 (a port the kernel picks), closed at once: the first
 * socket of each kind in a process costs a few ms of node and libuv set-up (~6 ms measured in a new
 * hook server), paid here while the plugins run instead of in the check after them. Once per process.
 */
export function warmUpPortCheck(): Promise<unknown> {
  return (warmedUp ??= Promise.all([tryBind('udp', '127.0.0.1', 0), tryBind('tcp', '127.0.0.1', 0)]));
}

/** The sockets that can take `ip`'s `port`: bound to it, to the wildcard of its family, or (IPv4) to `::`. */
function holdersOf(sockets: readonly BoundSocket[], protocol: Protocol, ip: string, port: number): BoundSocket[] {
  const covering = new Set([ip, '::', isIPv6(ip) ? '::' : '0.0.0.0', `::ffff:${ip}`]);
  return sockets.filter((s) => s.protocol === protocol && s.port === port && covering.has(s.hostIP));
}

/**
 * pid and command name of the processes holding these socket inodes (a scan of /proc/<pid>/fd),
 * `first` first: when the resolver holds them all (a gateway it is closing), no other process is read.
 */
async function ownersOf(inodes: ReadonlySet<number>, first: number | undefined): Promise<Map<number, { pid: number; command: string }>> {
  const owners = new Map<number, { pid: number; command: string }>();
  if (inodes.size === 0) return owners;
  const all = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  const pids = first === undefined ? all : [String(first), ...all.filter((p) => p !== String(first))];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m || !inodes.has(Number(m[1])) || owners.has(Number(m[1]))) continue;
      owners.set(Number(m[1]), { pid: Number(pid), command: await commandOf(pid) });
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

const PORT_HOLDER = "tsnerd's port holder, for a container's published port";
/** tsnerd's own processes that bind ports, by the script they run. */
const OWN_DAEMONS: ReadonlyArray<[RegExp, string]> = [
  [/\/reserver\/main\.c?[jt]s$/, PORT_HOLDER],
  [/\/dns-server\/main\.c?[jt]s$/, 'the DNS resolver of another tsnerd data store'],
];
const GENERIC_HINT = 'stop that server or make it listen on its own addresses only';
const PUBLISHED_HINT = 'publish that port on a host address (-p <address>:53:53)';
const MOVE_HINT = 'set dns_bind_port (another port for the resolver)';
const OTHER_PORT_HINT = 'choose another dns_bind_port';

/**
 * The program's name: argv[0]'s last part (a node process renames its thread, comm, to
 * MainThread), or which of tsnerd's own processes it is.
 */
async function commandOf(pid: string): Promise<string> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  for (const [script, what] of OWN_DAEMONS) if (argv.some((a) => script.test(a))) return what;
  const argv0 = argv[0] ?? '';
  if (argv0) return argv0.slice(argv0.lastIndexOf('/') + 1);
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
}

const hostPort = (ip: string, port: number) => (isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`);

/**
 * Throws a conflict when another process than the resolver (`resolverPid`,
 * which may still hold a gateway it is about to close) holds a gateway's port.
 * A gateway not on its bridge yet (EADDRNOTAVAIL) passes: the resolver retries it.
 */
export async function assertGatewayPortsFree(
  gateways: readonly GatewayToCheck[],
  defaultPort: number,
  resolverPid: () => Promise<number | undefined>,
): Promise<void> {
  for (const { network, gateway, port: own } of gateways) {
    const port = own ?? defaultPort;
    const taken: Protocol[] = [];
    for (const protocol of ['udp', 'tcp'] as const) if ((await tryBind(protocol, gateway, port)) === 'EADDRINUSE') taken.push(protocol);
    if (taken.length === 0) continue;
    const sockets = await readBoundSockets();
    const holders = taken.flatMap((p) => holdersOf(sockets, p, gateway, port));
    const resolver = await resolverPid();
    const owners = await ownersOf(new Set(holders.map((h) => h.inode)), resolver);
    const foreign = holders.filter((h) => resolver === undefined || owners.get(h.inode)?.pid !== resolver);
    if (holders.length > 0 && foreign.length === 0) continue;
    // One mention per holding process: "udp 0.0.0.0:53 and tcp 0.0.0.0:53 by dnsmasq (pid 812)".
    const byOwner = new Map<string, string[]>();
    for (const h of foreign) {
      const o = owners.get(h.inode);
      const owner = o ? `${o.command} (pid ${o.pid})` : 'an unknown process';
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), `${h.protocol} ${hostPort(h.hostIP, h.port)}`]);
    }
    const who =
      [...byOwner].map(([owner, sockets]) => `${sockets.join(' and ')} by ${owner}`).join(', ') ||
      `${taken.join(' and ')} by an unknown process`;
    const published = foreign.some((h) => owners.get(h.inode)?.command === PORT_HOLDER);
    throw conflict(
      `cannot serve DNS on network "${network}": ${hostPort(gateway, port)} is taken (${who}); ` +
        `${published ? PUBLISHED_HINT : GENERIC_HINT}, ${port === defaultPort ? MOVE_HINT : OTHER_PORT_HINT}, or create the network with --disable-dns`,
      { details: { network, gateway, port, holders: foreign.map((h) => ({ ...h, ...owners.get(h.inode) })) } },
    );
  }
}
