/**
 * UDP and TCP port 53 (or a network's `dns_bind_port`) on every gateway address of the record set. A gateway
 * whose bridge is not up yet (EADDRNOTAVAIL) is retried by the caller's
 * timer; a gateway that leaves the record set is closed. TCP carries
 * length-prefixed messages (RFC 7766), several per connection.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { AnswerCache, AnswerStore, type Reply, type Transport } from './handler.ts';
import { FrameReader, frame } from './tcp-frames.ts';

const DNS_PORT = 53;
const TCP_IDLE_MS = 10_000;
const MAX_TCP_CONNECTIONS = 256;
/** Answers a TCP client has not read yet; beyond this it is cut off (it asks faster than it reads). */
const MAX_TCP_UNREAD = 256 * 1024;

/**
 * Local answers come back at once, forwarded ones as a promise. `cache`: the
 * answer cache of the socket the query came in on (a UDP one lends its buffers:
 * see AnswerCache).
 */
export type QueryHandler = (
  msg: Buffer,
  gateway: string,
  source: string,
  transport: Transport,
  cache: AnswerCache,
) => Reply | Promise<Reply>;

/**
 * Replies go to the address a query came from, always an IP: no dns.lookup
 * (and its extra tick) per reply, as dgram's default lookup would do. dgram
 * passes the socket's family (4 or 6) as the options.
 */
const literalLookup = (host: string, family: unknown, callback: (err: null, address: string, family: number) => void): void =>
  callback(null, host, family === 6 ? 6 : 4);

/** A gateway address and the port to listen on there. */
export interface ListenAddress {
  gateway: string;
  port: number;
}

/** How a listener is known (logs, failures): `10.1.2.1:53`, `[fd00::1]:53`. */
const listenKey = (a: ListenAddress): string => (isIPv6(a.gateway) ? `[${a.gateway}]:${a.port}` : `${a.gateway}:${a.port}`);

interface Listener {
  udp: UdpSocket;
  tcp: Server;
}

export class GatewayListeners {
  private readonly bound = new Map<string, Listener>();
  private readonly binding = new Set<string>();
  private readonly failed = new Map<string, string>();
  private readonly handle: QueryHandler;
  private readonly log: (line: string) => void;
  private readonly port: number;
  /** Every socket's answers, bounded together. */
  private readonly answers = new AnswerStore();
  private connections = 0;

  constructor(handle: QueryHandler, log: (line: string) => void, port = DNS_PORT) {
    this.handle = handle;
    this.log = log;
    this.port = port;
  }

  /**
   * Listens on exactly `gateways` (an address alone: on the default port); resolves once every new
   * bind was tried. A gateway whose port changed is closed and bound again on the new one.
   */
  async reconcile(gateways: readonly (string | ListenAddress)[]): Promise<void> {
    const wanted = new Map(
      gateways.map((g) => {
        const a = typeof g === 'string' ? { gateway: g, port: this.port } : g;
        return [listenKey(a), a] as const;
      }),
    );
    for (const [key, l] of this.bound) {
      if (wanted.has(key)) continue;
      this.bound.delete(key);
      close(l);
      this.log(`closed ${key}`);
    }
    for (const key of this.failed.keys()) if (!wanted.has(key)) this.failed.delete(key);
    await Promise.all([...wanted].filter(([key]) => !this.bound.has(key) && !this.binding.has(key)).map(([, a]) => this.bind(a)));
  }

  /** Gateways whose bind failed (their bridge may come later). */
  failures(): Map<string, string> {
    return this.failed;
  }

  closeAll(): void {
    for (const l of this.bound.values()) close(l);
    this.bound.clear();
  }

  private async bind(address: ListenAddress): Promise<void> {
    const { gateway: gw, port } = address;
    const key = listenKey(address);
    this.binding.add(key);
    const udp = createSocket({ type: isIPv6(gw) ? 'udp6' : 'udp4', lookup: literalLookup });
    const tcpCache = new AnswerCache({ store: this.answers });
    const tcp = createServer((socket) => this.serveTcp(socket, gw, tcpCache));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: gw, port, exclusive: true }, () => resolve());
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: gw, port, exclusive: true }, () => resolve());
      });
      udp.removeAllListeners('error');
      tcp.removeAllListeners('error');
      udp.on('error', (err) => this.log(`udp ${gw}: ${err.message}`));
      tcp.on('error', (err) => this.log(`tcp ${gw}: ${err.message}`));
      const udpCache = new AnswerCache({ lend: true, store: this.answers });
      // Local answers to one read of the socket (libuv reads up to 32 datagrams per wake-up,
      // each a 'message') leave together, after the read (setImmediate: the loop's check
      // phase, right after its poll phase): the client's receiving thread is then woken once
      // for several replies instead of once per reply (docs/performance.md).
      const replies: Buffer[] = [];
      const ports: number[] = [];
      const addresses: string[] = [];
      let flushing = false;
      const flush = (): void => {
        flushing = false;
        const open = this.bound.get(key)?.udp === udp; // closed meanwhile: send would throw
        const n = open ? replies.length : 0;
        for (let i = 0; i < n; i++) {
          try {
            udp.send(replies[i]!, ports[i], addresses[i]);
          } catch {
            // A client dgram refuses to send to (source port 0): nobody to answer.
          }
        }
        replies.length = 0;
        ports.length = 0;
        addresses.length = 0;
        // What the cache lent reaches the socket one tick later: dgram sends after an address
        // lookup that ends in a nextTick, and those ticks run before this one. Then, if the
        // kernel did not take it all at once (queued), the cache stops lending those buffers.
        // Checked right here, the queue would always look empty. No message comes in between.
        process.nextTick(() => udpCache.sent(open && udp.getSendQueueCount() > 0));
      };
      udp.on('message', (msg, rinfo) => {
        const reply = this.handle(msg, gw, rinfo.address, 'udp', udpCache);
        // A failed send is an 'error' event (logged above), not a callback per reply.
        if (reply instanceof Promise)
          reply.then(
            (r) => {
              // The gateway may have been closed while the upstream was asked: send would throw.
              if (r && this.bound.get(key)?.udp === udp) udp.send(r, rinfo.port, rinfo.address);
            },
            () => undefined,
          );
        else if (reply) {
          replies.push(reply);
          ports.push(rinfo.port);
          addresses.push(rinfo.address);
          if (!flushing) {
            flushing = true;
            setImmediate(flush);
          }
        }
      });
      this.bound.set(key, { udp, tcp });
      if (this.failed.delete(key)) this.log(`listening on ${key} (retried)`);
      else this.log(`listening on ${key}`);
    } catch (err) {
      close({ udp, tcp });
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      if (this.failed.get(key) !== code) this.log(`cannot listen on ${key}: ${code}`);
      this.failed.set(key, code);
    } finally {
      this.binding.delete(key);
    }
  }

  private serveTcp(socket: Socket, gw: string, cache: AnswerCache): void {
    if (this.connections >= MAX_TCP_CONNECTIONS) {
      socket.destroy();
      return;
    }
    this.connections++;
    socket.once('close', () => this.connections--);
    socket.on('error', () => undefined);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    const reader = new FrameReader();
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) {
        // Answers go out in query order (pipelined queries, RFC 7766 allows either).
        chain = chain.then(async () => {
          const reply = await Promise.resolve(this.handle(msg, gw, socket.remoteAddress ?? '', 'tcp', cache)).catch(() => undefined);
          if (!reply || socket.destroyed) return;
          if (socket.writableLength > MAX_TCP_UNREAD) socket.destroy();
          else socket.write(frame(reply));
        });
      }
    });
  }
}

function close(l: Listener): void {
  try {
    l.udp.close();
  } catch {
    // never bound
  }
  l.tcp.close();
}
