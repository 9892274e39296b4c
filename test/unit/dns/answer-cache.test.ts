/**
 * The resolver's answer cache (src/dns-server/handler.ts): hits carry the
 * query's ID, keys are checked byte by byte, a lent buffer the socket queued
 * is never changed again, an entry is lent once per batch of replies, a new records snapshot empties the cache, and the
 * sockets' caches share one bound.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { applyJoin, emptyRecordSet } from '../../../src/domain/dns/records.ts';
import { DnsZones } from '../../../src/domain/dns/zone.ts';
import { AnswerCache, AnswerStore, handleQuery, type QueryContext } from '../../../src/dns-server/handler.ts';

const GW = '10.216.3.1';
const CLIENT = '10.216.3.2';

function zones(ip: string): DnsZones {
  return new DnsZones(
    applyJoin(emptyRecordSet(), {
      namespace: 'default',
      id: 'aaaa',
      endpoints: [{ network: 'dns-cache', record: { gateways: [GW], internal: false }, names: ['a'], aliases: [], ips: [ip] }],
    }),
  );
}

const query = (id: number, name = 'a') => dnsPacket.encode({ id, type: 'query', questions: [{ name, type: 'A' }] });
const noForward = { forward: () => Promise.reject(new Error('not expected')) };

function ask(ctx: Omit<QueryContext, 'forwarder' | 'gateway' | 'transport'>, msg: Buffer): dnsPacket.DecodedPacket {
  const reply = handleQuery(msg, { ...ctx, forwarder: noForward, gateway: GW, transport: 'udp' });
  assert.ok(reply instanceof Buffer);
  return dnsPacket.decode(reply);
}

const firstData = (p: dnsPacket.DecodedPacket) => (p.answers?.[0] as { data: string } | undefined)?.data;

describe('AnswerCache', () => {
  it('answers a repeated query with its own ID, and the same bytes from another client or with another name as misses', () => {
    const z = zones('10.216.3.5');
    const cache = new AnswerCache({ lend: true });
    assert.equal(cache.get(z, CLIENT, query(1)), undefined);
    const first = ask({ zones: z, cache, source: CLIENT }, query(1));
    const hit = cache.get(z, CLIENT, query(2));
    assert.ok(hit);
    assert.equal(dnsPacket.decode(hit).id, 2);
    assert.deepEqual(dnsPacket.decode(hit).answers, first.answers);
    cache.sent(false);
    assert.equal(cache.get(z, '10.216.3.3', query(3)), undefined, 'another client');
    assert.equal(cache.get(z, CLIENT, query(3, 'b')), undefined, 'another name');
    assert.equal(cache.get(zones('10.216.3.5'), CLIENT, query(3)), undefined, 'another snapshot');
  });

  it('lends its buffer until the socket queues it, then keeps a copy', () => {
    const z = zones('10.216.3.5');
    const cache = new AnswerCache({ lend: true });
    ask({ zones: z, cache, source: CLIENT }, query(1));
    const a = cache.get(z, CLIENT, query(10))!;
    cache.sent(false);
    const b = cache.get(z, CLIENT, query(11))!;
    assert.equal(a, b, 'sent at once: the same buffer again');
    cache.sent(true); // queued: b must keep ID 11
    const c = cache.get(z, CLIENT, query(12))!;
    cache.sent(false);
    assert.notEqual(c, b);
    assert.equal(b.readUInt16BE(0), 11);
    assert.equal(c.readUInt16BE(0), 12);
  });

  it('lends an entry once per batch: a second hit before `sent` gets a copy, and both keep their IDs', () => {
    const z = zones('10.216.3.5');
    const cache = new AnswerCache({ lend: true });
    ask({ zones: z, cache, source: CLIENT }, query(1));
    const a = cache.get(z, CLIENT, query(30))!;
    const b = cache.get(z, CLIENT, query(31))!;
    assert.notEqual(a, b);
    assert.equal(a.readUInt16BE(0), 30);
    assert.equal(b.readUInt16BE(0), 31);
    cache.sent(false);
    assert.equal(cache.get(z, CLIENT, query(32)), a, 'the next batch borrows the entry again');
    cache.sent(false);
  });

  it('hands out copies when it does not lend (TCP)', () => {
    const z = zones('10.216.3.5');
    const cache = new AnswerCache();
    ask({ zones: z, cache, source: CLIENT }, query(1));
    const a = cache.get(z, CLIENT, query(20))!;
    const b = cache.get(z, CLIENT, query(21))!;
    assert.notEqual(a, b);
    assert.equal(a.readUInt16BE(0), 20);
  });

  it("keeps each socket's answers to that socket, and bounds all sockets' caches together", () => {
    const z = zones('10.216.3.5');
    const store = new AnswerStore(2);
    const udp = new AnswerCache({ lend: true, store });
    const tcp = new AnswerCache({ store });
    ask({ zones: z, cache: udp, source: CLIENT }, query(1));
    assert.equal(tcp.get(z, CLIENT, query(2)), undefined, "the UDP socket's answer is not the TCP one's");
    ask({ zones: z, cache: udp, source: '10.216.3.3' }, query(1));
    assert.equal(store.entries.size, 2);
    ask({ zones: z, cache: tcp, source: CLIENT }, query(1)); // the store is full: everybody starts over
    assert.equal(store.entries.size, 1);
    assert.equal(udp.get(z, CLIENT, query(3)), undefined);
    assert.ok(tcp.get(z, CLIENT, query(4)));
  });

  it('serves a new snapshot fresh answers through handleQuery', () => {
    const cache = new AnswerCache({ lend: true });
    assert.equal(firstData(ask({ zones: zones('10.216.3.5'), cache, source: CLIENT }, query(1))), '10.216.3.5');
    assert.equal(firstData(ask({ zones: zones('10.216.3.6'), cache, source: CLIENT }, query(2))), '10.216.3.6');
  });
});
