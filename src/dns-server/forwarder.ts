/**
 * Forwarding of names the record set does not own to the host's resolvers:
 * the nameservers of a resolv.conf (the host's, systemd-resolved's upstream
 * file instead of its 127.0.0.53 stub, or the data store's dns/resolv.conf
 * when present), tried in order with a timeout each. A truncated UDP answer
 * is asked again over TCP and passed on whole when it fits the client's UDP
 * size (EDNS), else truncated, so the client asks us over TCP in turn. The
 * file is re-read when its mtime changes.
 */
import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { connect, isIP, isIPv6 } from 'node:net';
import { parseResolvConf } from '../domain/dns/resolv-conf.ts';
import type { Forwarder, Transport } from './handler.ts';

const ATTEMPT_TIMEOUT_MS = 2_000;
const MAX_UPSTREAMS = 3;
const TC_BIT = 0x0200;
const SYSTEMD_RESOLVED_STUB = '127.0.0.53';
const SYSTEMD_UPSTREAM = '/run/systemd/resolve/resolv.conf';

export class ResolvConfForwarder implements Forwarder {
  private readonly paths: readonly string[];
  private readonly isOwnAddress: (ip: string) => boolean;
  private cache: { key: string; servers: string[] } | undefined;

  /** `paths`: the first that exists is read. `isOwnAddress`: never forward to ourselves. */
  constructor(paths: readonly string[], isOwnAddress: (ip: string) => boolean) {
    this.paths = paths;
    this.isOwnAddress = isOwnAddress;
  }

  async forward(query: Buffer, transport: Transport, udpLimit: number): Promise<Buffer | undefined> {
    for (const server of this.upstreams()) {
      try {
        if (transport === 'tcp') return await askTcp(server, query);
        const answer = await askUdp(server, query);
        if (answer.length < 4 || (answer.readUInt16BE(2) & TC_BIT) === 0) return answer;
        // Truncated by the upstream: the whole answer over TCP, if the client can take it over UDP.
        const full = await askTcp(server, query).catch(() => undefined);
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

function askUdp(server: string, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(server) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new Error('timeout')), ATTEMPT_TIMEOUT_MS);
    let done = false;
    const finish = (err: Error | undefined, answer?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg, rinfo) => {
      // Only the server asked, with our ID (a fresh random port makes spoofing hard too).
      if (rinfo.address !== server || msg.length < 2 || msg.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      finish(undefined, msg);
    });
    socket.send(query, 53, server);
  });
}

function askTcp(server: string, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server, port: 53 });
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('timeout')), ATTEMPT_TIMEOUT_MS);
    let done = false;
    const finish = (err: Error | undefined, answer?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const size = buffered.readUInt16BE(0);
      if (buffered.length >= size + 2) finish(undefined, buffered.subarray(2, size + 2));
    });
    socket.on('close', () => finish(new Error('closed')));
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
