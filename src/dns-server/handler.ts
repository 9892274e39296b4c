/**
 * One DNS query in, one answer out (or nothing, for packets that are not
 * queries). Local names come from the current DnsZones snapshot; anything
 * else goes to the forwarder. Never throws: a packet dns-packet cannot decode
 * gets FORMERR when its header can be read, and is dropped otherwise.
 *
 * Local answers are synchronous (no promise per query) and kept encoded in an
 * AnswerCache: the same question from the same client again (its bytes after
 * the ID) is answered with a copy, without decoding, lookup or encoding. This
 * fast path is what lets one node thread keep up with aardvark-dns's threads
 * (bench/dns.ts); the cache is dropped whenever the records change.
 */
import * as dnsPacket from 'dns-packet';
import type { DnsZones } from '../domain/dns/zone.ts';

/** RFC 1035: a UDP answer without EDNS fits in 512 bytes; larger ones are truncated (TC). */
const CLASSIC_UDP_LIMIT = 512;
const MAX_UDP_LIMIT = 4096;
const HEADER_BYTES = 12;
const QR_BIT = 0x8000;
const OPCODE_BITS = 0x7800;
/** Queries longer than this (many EDNS options) are answered without the cache. */
const MAX_KEYED_QUERY = 300;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;

export type Transport = 'udp' | 'tcp';

export interface Forwarder {
  /**
   * The upstream's answer to `query` (the client's bytes, its ID kept), or
   * undefined when none answered. `udpLimit`: the most a UDP client takes; a
   * longer answer comes back truncated, for the client to ask again over TCP.
   */
  forward(query: Buffer, transport: Transport, udpLimit: number): Promise<Buffer | undefined>;
}

export type Reply = Buffer | undefined;

export interface QueryContext {
  zones: DnsZones;
  /** Encoded local answers of this zones snapshot (optional: tests). */
  cache?: AnswerCache;
  forwarder: Forwarder;
  /** The address the query arrived on: a network's gateway. */
  gateway: string;
  /** The client's address. */
  source: string;
  transport: Transport;
}

/** A promise only for forwarded names; local answers and errors are returned at once. */
export function handleQuery(msg: Buffer, ctx: QueryContext): Reply | Promise<Reply> {
  try {
    return answer(msg, ctx);
  } catch {
    return undefined; // never expected (decode errors are FORMERR): a bug must not take the resolver down
  }
}

function answer(msg: Buffer, ctx: QueryContext): Reply | Promise<Reply> {
  if (msg.length < HEADER_BYTES) return undefined;
  const id = msg.readUInt16BE(0);
  const headerFlags = msg.readUInt16BE(2);
  if ((headerFlags & QR_BIT) !== 0) return undefined; // a response: never answer one (loops)
  const key = ctx.cache?.key(ctx.transport, ctx.gateway, ctx.source, msg);
  if (key !== undefined) {
    const hit = ctx.cache!.get(ctx.zones, key, id);
    if (hit) return hit;
  }
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return errorReply(id, headerFlags, RCODE.FORMERR);
  }
  if ((headerFlags & OPCODE_BITS) !== 0) return errorReply(id, headerFlags, RCODE.NOTIMP); // not a standard QUERY
  const question = query.questions?.[0];
  if (!question || query.questions!.length !== 1) return errorReply(id, headerFlags, RCODE.FORMERR);

  const verdict = ctx.zones.answer(ctx.gateway, ctx.source, question.name, question.type);
  if (verdict.kind === 'forward') {
    return ctx.forwarder.forward(msg, ctx.transport, udpLimit(query)).then(
      (upstream) => upstream ?? errorReply(id, headerFlags, RCODE.SERVFAIL, question),
      () => errorReply(id, headerFlags, RCODE.SERVFAIL, question),
    );
  }
  if (verdict.kind === 'servfail') return errorReply(id, headerFlags, RCODE.SERVFAIL, question);

  const flags = dnsPacket.AUTHORITATIVE_ANSWER | (headerFlags & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE;
  const reply: dnsPacket.Packet = {
    id,
    type: 'response',
    flags: flags | RCODE[verdict.rcode],
    questions: [question],
    answers: verdict.answers,
  };
  let out = dnsPacket.encode(reply);
  if (ctx.transport === 'udp' && out.length > udpLimit(query)) {
    out = dnsPacket.encode({ ...reply, flags: reply.flags! | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
  }
  // Not an answer that rotates (a name with several addresses of a family): the next one is the same.
  if (key !== undefined && !rotates(verdict.answers)) ctx.cache!.set(ctx.zones, key, out);
  return out;
}

function rotates(answers: readonly { type: string }[]): boolean {
  let a = 0;
  let aaaa = 0;
  for (const x of answers) {
    if (x.type === 'A') a++;
    else if (x.type === 'AAAA') aaaa++;
  }
  return a > 1 || aaaa > 1;
}

/**
 * Encoded local answers of one DnsZones snapshot, by transport, where the query
 * came from and went to, and its bytes after the ID. Bounded: full, it starts over.
 */
export class AnswerCache {
  private readonly limit: number;
  private readonly entries = new Map<string, Buffer>();
  private zones: DnsZones | undefined;

  constructor(limit = 1024) {
    this.limit = limit;
  }

  /** Undefined for a query too long to be worth a key. The transport: a UDP answer may be truncated, the TCP one not. */
  key(transport: Transport, gateway: string, source: string, msg: Buffer): string | undefined {
    if (msg.length > MAX_KEYED_QUERY) return undefined;
    return `${transport} ${gateway} ${source} ${msg.toString('latin1', 2)}`;
  }

  /** A copy of the cached answer with the query's ID (a buffer of its own: see main.ts on Buffer.poolSize). */
  get(zones: DnsZones, key: string, id: number): Buffer | undefined {
    if (zones !== this.zones) return undefined;
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    const out = Buffer.allocUnsafeSlow(hit.length);
    hit.copy(out);
    out.writeUInt16BE(id, 0);
    return out;
  }

  set(zones: DnsZones, key: string, answer: Buffer): void {
    if (zones !== this.zones || this.entries.size >= this.limit) {
      this.entries.clear();
      this.zones = zones;
    }
    const copy = Buffer.allocUnsafeSlow(answer.length);
    answer.copy(copy);
    this.entries.set(key, copy);
  }
}

/** The client's EDNS payload size (RFC 6891), else 512. */
function udpLimit(query: dnsPacket.DecodedPacket): number {
  const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const size = opt?.udpPayloadSize ?? CLASSIC_UDP_LIMIT;
  return Math.min(Math.max(size, CLASSIC_UDP_LIMIT), MAX_UDP_LIMIT);
}

/** A header-only (or question-echoing) reply carrying rcode; RD is copied as RFC 1035 asks. */
function errorReply(id: number, queryFlags: number, rcode: number, question?: dnsPacket.Question): Buffer {
  const opcodeBits = queryFlags & OPCODE_BITS;
  const flags = opcodeBits | (queryFlags & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | rcode;
  try {
    return dnsPacket.encode({ id, type: 'response', flags, questions: question ? [question] : [] });
  } catch {
    return dnsPacket.encode({ id, type: 'response', flags, questions: [] });
  }
}
