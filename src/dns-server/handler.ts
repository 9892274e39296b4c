/**
 * One DNS query in, one answer out (or nothing, for packets that are not
 * queries). Local names come from the current DnsZones snapshot; anything
 * else goes to the forwarder. Never throws: a packet dns-packet cannot decode
 * gets FORMERR when its header can be read, and is dropped otherwise.
 */
import * as dnsPacket from 'dns-packet';
import type { DnsZones } from '../domain/dns/zone.ts';

/** RFC 1035: a UDP answer without EDNS fits in 512 bytes; larger ones are truncated (TC). */
const CLASSIC_UDP_LIMIT = 512;
const MAX_UDP_LIMIT = 4096;
const HEADER_BYTES = 12;
const QR_BIT = 0x8000;
const OPCODE_BITS = 0x7800;

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

export interface QueryContext {
  zones: DnsZones;
  forwarder: Forwarder;
  /** The address the query arrived on: a network's gateway. */
  gateway: string;
  /** The client's address. */
  source: string;
  transport: Transport;
}

export async function handleQuery(msg: Buffer, ctx: QueryContext): Promise<Buffer | undefined> {
  if (msg.length < HEADER_BYTES) return undefined;
  const id = msg.readUInt16BE(0);
  const headerFlags = msg.readUInt16BE(2);
  if ((headerFlags & QR_BIT) !== 0) return undefined; // a response: never answer one (loops)
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
    const upstream = await ctx.forwarder.forward(msg, ctx.transport, udpLimit(query)).catch(() => undefined);
    return upstream ?? errorReply(id, headerFlags, RCODE.SERVFAIL, question);
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
  const out = dnsPacket.encode(reply);
  if (ctx.transport === 'udp' && out.length > udpLimit(query)) {
    return dnsPacket.encode({ ...reply, flags: reply.flags! | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
  }
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
