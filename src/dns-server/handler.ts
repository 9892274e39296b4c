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
  /** Encoded local answers of the socket the query came in on (optional: tests). */
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
  const hit = ctx.cache?.get(ctx.zones, ctx.source, msg);
  if (hit) return hit;
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
  if (ctx.cache && !rotates(verdict.answers)) ctx.cache.set(ctx.zones, ctx.source, msg, out);
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

interface CacheEntry {
  /** The socket's cache the entry belongs to. */
  owner: AnswerCache;
  source: string;
  /** The query's bytes after its ID. */
  query: Buffer;
  reply: Buffer;
  /** The lending cache's batch in which `reply` was last lent (-1: never). */
  lentIn: number;
}

/**
 * The entries of all of a resolver's answer caches (one per listening socket)
 * together, of one DnsZones snapshot, bounded as one: full, all start over.
 */
export class AnswerStore {
  readonly limit: number;
  readonly entries = new Map<number, CacheEntry>();
  zones: DnsZones | undefined;

  constructor(limit = 1024) {
    this.limit = limit;
  }
}

let nextSeed = 1;

/**
 * Encoded local answers for one listening socket (so one gateway and
 * transport: a UDP answer may be truncated, the TCP one not), by the client's
 * address and the query's bytes after the ID, kept in a store shared with the
 * other sockets' caches (so the bound holds for the whole resolver). Keyed by a
 * 30-bit hash of the cache's seed, the address and the question (a small
 * integer: no key string to build and hash per query), checked byte by byte
 * on a hit.
 *
 * A lending cache (UDP) hands out its own buffer with the ID patched in, once
 * per batch: the caller sends a batch of replies (the queries of one read from
 * the socket) and then calls `sent` with whether the socket queued any of them
 * (a send the kernel did not take at once keeps the buffer: those entries then
 * get copies, so a later hit cannot change a queued reply's ID). A second hit on
 * the same entry within a batch gets a copy (the first is still waiting to be
 * sent with its own ID). Without lending (TCP, whose answers leave a tick later)
 * a hit is a copy.
 */
export class AnswerCache {
  private readonly store: AnswerStore;
  private readonly lend: boolean;
  private readonly seed: number;
  /** Entries lent in the current batch. */
  private readonly lent: CacheEntry[] = [];
  private batch = 0;

  constructor(opts: { lend?: boolean; store?: AnswerStore } = {}) {
    this.lend = opts.lend ?? false;
    this.store = opts.store ?? new AnswerStore();
    this.seed = nextSeed++ & 0xffff;
  }

  /** The cached answer to this query from `source` with the query's ID, if any. */
  get(zones: DnsZones, source: string, msg: Buffer): Buffer | undefined {
    if (zones !== this.store.zones || msg.length > MAX_KEYED_QUERY) return undefined;
    const entry = this.store.entries.get(hashKey(this.seed, source, msg));
    if (entry === undefined || entry.owner !== this || entry.source !== source || !sameAfterId(entry.query, msg)) return undefined;
    let out = entry.reply;
    if (this.lend && entry.lentIn !== this.batch) {
      entry.lentIn = this.batch;
      this.lent.push(entry);
    } else {
      out = Buffer.allocUnsafeSlow(out.length);
      entry.reply.copy(out);
    }
    out[0] = msg[0]!;
    out[1] = msg[1]!;
    return out;
  }

  /** After sending a batch with what `get` lent: `queued`, the socket still holds some of it. */
  sent(queued: boolean): void {
    this.batch++;
    const lent = this.lent;
    if (lent.length === 0) return;
    if (queued) for (const entry of lent) entry.reply = standalone(entry.reply);
    lent.length = 0;
  }

  set(zones: DnsZones, source: string, msg: Buffer, answer: Buffer): void {
    if (msg.length > MAX_KEYED_QUERY) return;
    const store = this.store;
    if (zones !== store.zones || store.entries.size >= store.limit) {
      store.entries.clear();
      store.zones = zones;
    }
    store.entries.set(hashKey(this.seed, source, msg), {
      owner: this,
      source,
      query: standalone(msg.subarray(2)),
      reply: standalone(answer),
      lentIn: -1,
    });
  }
}

/**
 * A 31-multiplier string hash over the cache's seed, the client's address and
 * the query's question (and any additionals), cut to a small integer. Shifts
 * and adds only, lengths read once: Maglev (the resolver's top tier) calls out
 * for Math.imul and a Buffer's length.
 */
function hashKey(seed: number, source: string, msg: Buffer): number {
  let h = seed;
  const sourceLength = source.length;
  for (let i = 0; i < sourceLength; i++) h = ((h << 5) - h + source.charCodeAt(i)) | 0;
  // From the question on: the header's flags and counts rarely differ (sameAfterId compares them).
  const msgLength = msg.length;
  for (let i = HEADER_BYTES; i < msgLength; i++) h = ((h << 5) - h + msg[i]!) | 0;
  return h & 0x3fffffff;
}

function sameAfterId(tail: Buffer, msg: Buffer): boolean {
  const n = tail.length;
  if (n !== msg.length - 2) return false;
  for (let i = 0; i < n; i++) if (tail[i] !== msg[i + 2]) return false;
  return true;
}

/** A copy in a buffer of its own (see main.ts on Buffer.poolSize). */
function standalone(b: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(b.length);
  b.copy(out);
  return out;
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
