/**
 * Forwarding of names the record set does not own to the host's resolvers:
 * the nameservers of a resolv.conf (the host's, systemd-resolved's upstream
 * file instead of its 127.0.0.53 stub, or the data store's dns/resolv.conf
 * when present), tried in order with a timeout each. A truncated UDP answer
 * is asked again over TCP and passed on whole when it fits the client's UDP
 * size (EDNS), else truncated, so the client asks us over TCP in turn. The
 * file is re-read when its mtime changes. At most 256 forwarded queries are
 * in flight (each holds a socket and a timer for up to 2 s per upstream);
 * beyond that a query gets SERVFAIL at once, so a flood of unknown names, or
 * an upstream that stopped answering, bounds the resolver's sockets and memory.
 */
import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { connect, isIP, isIPv6 } from 'node:net';
import { parseResolvConf } from '../domain/dns/resolv-conf.ts';
import type { Forwarder, Transport } from './handler.ts';
import { FrameReader, frame } from './tcp-frames.ts';

const ATTEMPT_TIMEOUT_MS = 2_000;
const DNS_PORT = 53;
const MAX_UPSTREAMS = 3;
const MAX_IN_FLIGHT = 256;
const TC_BIT = 0x0200;
const SYSTEMD_RESOLVED_STUB = '127.0.0.53';
const SYSTEMD_UPSTREAM = '/run/systemd/resolve/resolv.conf';

export interface ForwarderOptions {
  /** The upstreams' port (tests); 53. */
  port?: number;
  /** Forwarded queries in flight at most; 256. */
  maxInFlight?: number;
}

export class ResolvConfForwarder implements Forwarder {
  private readonly paths: readonly string[];
  private readonly isOwnAddress: (ip: string) => boolean;
  private readonly port: number;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private cache: { key: string; servers: string[] } | undefined;

  /** `paths`: the first that exists is read. `isOwnAddress`: never forward to ourselves. */
  constructor(paths: readonly string[], isOwnAddress: (ip: string) => boolean, opts: ForwarderOptions = {}) {
    this.paths = paths;
    this.isOwnAddress = isOwnAddress;
    this.port = opts.port ?? DNS_PORT;
    this.maxInFlight = opts.maxInFlight ?? MAX_IN_FLIGHT;
  }

  /** Undefined when no upstream answered, or too many queries are in flight already. */
  async forward(query: Buffer, transport: Transport, udpLimit: number): Promise<Buffer | undefined> {
    if (this.inFlight >= this.maxInFlight) return undefined;
    this.inFlight++;
    try {
      return await this.tryUpstreams(query, transport, udpLimit);
    } finally {
      this.inFlight--;
    }
  }

  private async tryUpstreams(query: Buffer, transport: Transport, udpLimit: number): Promise<Buffer | undefined> {
    const ask = (server: string, over: Transport) => exchange(server, this.port, query, over);
    for (const server of this.upstreams()) {
      try {
        const answer = await ask(server, transport);
        if (transport === 'tcp' || answer.length < 4 || (answer.readUInt16BE(2) & TC_BIT) === 0) return answer;
        // Truncated by the upstream: the whole answer over TCP, if the client can take it over UDP.
        const full = await ask(server, 'tcp').catch(() => undefined);
        return full !== undefined && full.length <= udpLimit ? full : answer;
      } catch {
        // timed out or refused: the next server
      }
    }
    return undefined;
  }

  /** The nameservers to ask, re-read when the file's identity or mtime changes. */
  upstreams(): string[] {
    const path = this.paths.find((p) => exists(p));
    if (path === undefined) return [];
    const st = statSync(path, { throwIfNoEntry: false });
    const key = `${path}:${st?.ino}:${st?.mtimeMs}`;
    if (this.cache?.key !== key) this.cache = { key, servers: this.read(path) };
    return this.cache.servers;
  }

  private read(path: string): string[] {
    let servers = parseResolvConf(readText(path)).nameservers;
    if (servers.length === 1 && servers[0] === SYSTEMD_RESOLVED_STUB && exists(SYSTEMD_UPSTREAM)) {
      servers = parseResolvConf(readText(SYSTEMD_UPSTREAM)).nameservers;
    }
    return servers.filter((s) => isIP(s) !== 0 && !this.isOwnAddress(s)).slice(0, MAX_UPSTREAMS);
  }
}

/**
 * One transport's half of an exchange: sends `query` to `server` and calls
 * `answer` with the reply to it or `fail`; returns how to close the socket.
 */
type Exchange = (server: string, port: number, query: Buffer, answer: (msg: Buffer) => void, fail: (err: Error) => void) => () => void;

const overUdp: Exchange = (server, port, query, answer, fail) => {
  const socket = createSocket(isIPv6(server) ? 'udp6' : 'udp4');
  socket.on('error', fail);
  // Only the server asked (a fresh random port makes spoofing hard too).
  socket.on('message', (msg, rinfo) => rinfo.address === server && answer(msg));
  socket.send(query, port, server);
  return () => socket.close();
};

const overTcp: Exchange = (server, port, query, answer, fail) => {
  const socket = connect({ host: server, port });
  const reader = new FrameReader();
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('closed')));
  socket.on('connect', () => socket.write(frame(query)));
  socket.on('data', (chunk: Buffer) => reader.push(chunk).forEach(answer));
  return () => socket.destroy();
};

const EXCHANGES: Record<Transport, Exchange> = { udp: overUdp, tcp: overTcp };

/** `query` to `server` over `transport`: the reply with the query's ID, or a rejection (timeout, error, closed). */
function exchange(server: string, port: number, query: Buffer, transport: Transport): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let done = false;
    let close = (): void => undefined;
    const finish = (err: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error('timeout')), ATTEMPT_TIMEOUT_MS);
    const id = query.readUInt16BE(0);
    close = EXCHANGES[transport](
      server,
      port,
      query,
      (msg) => msg.length >= 2 && msg.readUInt16BE(0) === id && finish(undefined, msg),
      (err) => finish(err),
    );
    if (done) close(); // failed while it was being set up
  });
}

function exists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
