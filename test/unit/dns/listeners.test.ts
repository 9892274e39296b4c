/**
 * The resolver's sockets (src/dns-server/listeners.ts) on a loopback address
 * (no root: port 41054 on a random 127.236.x.y): a forwarded answer that comes
 * back after its gateway was closed (the network's last container left while
 * the upstream was asked) is dropped, not thrown where nothing catches it; a
 * burst of the same question (answered from the cache, replies sent per read)
 * gets one reply per query, each with its own ID; a cached reply the kernel has
 * queued is not rewritten by a later hit.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Socket, createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import * as dnsPacket from 'dns-packet';
import { applyJoin, emptyRecordSet } from '../../../src/domain/dns/records.ts';
import { DnsZones } from '../../../src/domain/dns/zone.ts';
import { handleQuery } from '../../../src/dns-server/handler.ts';
import { GatewayListeners } from '../../../src/dns-server/listeners.ts';

const PORT = 41054;
const randomGateway = () => `127.236.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
const GW = randomGateway();

describe('GatewayListeners', () => {
  it('drops a forwarded answer whose socket was closed meanwhile', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let asked!: () => void;
      const seen = new Promise<void>((resolve) => (asked = resolve));
      let answer!: (reply: Buffer) => void;
      const listeners = new GatewayListeners(
        (msg) => {
          asked();
          return new Promise<Buffer>((resolve) => (answer = resolve)).then(() => msg);
        },
        () => undefined,
        PORT,
      );
      await listeners.reconcile([GW]);
      assert.deepEqual([...listeners.failures()], []);
      const client = createSocket('udp4');
      client.send(dnsPacket.encode({ id: 5, type: 'query', questions: [{ name: 'example.invalid', type: 'A' }] }), PORT, GW);
      await seen;
      await listeners.reconcile([]); // the gateway's last network is gone
      answer(Buffer.alloc(12));
      await sleep(50);
      client.close();
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it("serves each gateway on its network's recorded port (dns_bind_port), and moves it when the port changes", async () => {
    const gw = randomGateway();
    const record = (port?: number) =>
      applyJoin(emptyRecordSet(), {
        namespace: 'default',
        id: 'moved',
        endpoints: [
          {
            network: 'moved',
            record: { gateways: [gw], internal: false, ...(port ? { port } : {}) },
            names: ['m'],
            aliases: [],
            ips: ['10.216.9.8'],
          },
        ],
      });
    let zones = new DnsZones(record(PORT + 1));
    assert.deepEqual(zones.listenAddresses(PORT), [{ gateway: gw, port: PORT + 1 }]);
    const noForward = { forward: () => Promise.reject(new Error('not expected')) };
    const logged: string[] = [];
    const listeners = new GatewayListeners(
      (msg, gateway, source, transport, cache) => handleQuery(msg, { zones, cache, forwarder: noForward, gateway, source, transport }),
      (line) => logged.push(line),
      PORT,
    );
    const ask = async (port: number): Promise<string[]> => {
      const client = createSocket('udp4');
      try {
        const reply = new Promise<dnsPacket.DecodedPacket>((resolve) => client.on('message', (m) => resolve(dnsPacket.decode(m))));
        client.send(dnsPacket.encode({ id: 9, type: 'query', questions: [{ name: 'm', type: 'A' }] }), port, gw);
        const r = await Promise.race([reply, sleep(500).then(() => undefined)]);
        return (r?.answers ?? []).map((a) => String((a as dnsPacket.StringAnswer).data));
      } finally {
        client.close();
      }
    };
    try {
      await listeners.reconcile(zones.listenAddresses(PORT));
      assert.deepEqual(await ask(PORT + 1), ['10.216.9.8']);
      assert.deepEqual(await ask(PORT), [], 'not on the default port');
      zones = new DnsZones(record());
      await listeners.reconcile(zones.listenAddresses(PORT));
      assert.deepEqual(await ask(PORT), ['10.216.9.8']);
      assert.deepEqual(await ask(PORT + 1), [], 'the old port closed');
      assert.ok(logged.includes(`closed ${gw}:${PORT + 1}`), logged.join('\n'));
    } finally {
      listeners.closeAll();
    }
  });

  it('answers a burst of the same question once per query, each reply with its query ID', async () => {
    const gw = randomGateway();
    const zones = new DnsZones(
      applyJoin(emptyRecordSet(), {
        namespace: 'default',
        id: 'burst',
        endpoints: [{ network: 'burst', record: { gateways: [gw], internal: false }, names: ['b'], aliases: [], ips: ['10.216.9.9'] }],
      }),
    );
    const noForward = { forward: () => Promise.reject(new Error('not expected')) };
    const listeners = new GatewayListeners(
      (msg, gateway, source, transport, cache) => handleQuery(msg, { zones, cache, forwarder: noForward, gateway, source, transport }),
      () => undefined,
      PORT,
    );
    await listeners.reconcile([gw]);
    const client = createSocket('udp4');
    try {
      const ids = Array.from({ length: 64 }, (_, i) => 1000 + i);
      const replies: dnsPacket.DecodedPacket[] = [];
      const all = new Promise<void>((resolve) =>
        client.on('message', (m) => {
          replies.push(dnsPacket.decode(m));
          if (replies.length === ids.length) resolve();
        }),
      );
      // Bound first so every query leaves from one port and the burst queues up at the resolver.
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
      for (const id of ids) client.send(dnsPacket.encode({ id, type: 'query', questions: [{ name: 'b.burst', type: 'A' }] }), PORT, gw);
      await Promise.race([all, sleep(5_000)]);
      assert.deepEqual(
        replies.map((r) => r.id).sort((a, b) => a! - b!),
        ids,
      );
      for (const r of replies) assert.equal((r.answers?.[0] as { data?: string } | undefined)?.data, '10.216.9.9');
    } finally {
      client.close();
      listeners.closeAll();
    }
  });

  it('stops lending a cached reply once the kernel queued it (a later hit does not rewrite it)', async () => {
    const gw = randomGateway();
    const zones = new DnsZones(
      applyJoin(emptyRecordSet(), {
        namespace: 'default',
        id: 'queued',
        endpoints: [{ network: 'queued', record: { gateways: [gw], internal: false }, names: ['q'], aliases: [], ips: ['10.216.9.8'] }],
      }),
    );
    const noForward = { forward: () => Promise.reject(new Error('not expected')) };
    // The resolver's socket as if the kernel's send buffer were full: every send that has reached
    // the socket (dgram passes it on one tick after send() returns) counts as queued, and each
    // buffer handed over is kept with the bytes it had then.
    const sent: { buf: Buffer; bytes: Buffer }[] = [];
    let calls = 0;
    let reached = 0;
    const ours = (s: Socket) => {
      try {
        return s.address().address === gw;
      } catch {
        return false;
      }
    };
    const proto = Socket.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const { send, getSendQueueCount } = proto;
    proto['send'] = function (this: Socket, ...args: unknown[]) {
      if (ours(this)) {
        const buf = args[0] as Buffer;
        sent.push({ buf, bytes: Buffer.from(buf) });
        calls++;
        process.nextTick(() => reached++);
      }
      return send!.apply(this, args);
    };
    proto['getSendQueueCount'] = function (this: Socket) {
      return ours(this) ? (calls > 0 && reached === calls ? 1 : 0) : getSendQueueCount!.apply(this);
    };
    const listeners = new GatewayListeners(
      (msg, gateway, source, transport, cache) => handleQuery(msg, { zones, cache, forwarder: noForward, gateway, source, transport }),
      () => undefined,
      PORT,
    );
    const client = createSocket('udp4');
    try {
      await listeners.reconcile([gw]);
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
      let answered = 0;
      client.on('message', () => answered++);
      // One query per read of the socket: a miss (cached), then hits, each a batch of its own.
      for (const id of [1, 2, 3, 4]) {
        client.send(dnsPacket.encode({ id, type: 'query', questions: [{ name: 'q.queued', type: 'A' }] }), PORT, gw);
        for (let waited = 0; answered < id && waited < 2000; waited += 10) await sleep(10);
      }
      assert.equal(answered, 4);
      assert.equal(sent.length, 4);
      for (const [i, s] of sent.entries())
        assert.deepEqual(s.buf, s.bytes, `reply ${i + 1} was rewritten after it was handed to the socket`);
    } finally {
      proto['send'] = send!;
      proto['getSendQueueCount'] = getSendQueueCount!;
      client.close();
      listeners.closeAll();
    }
  });
});
