/**
 * The resolver's sockets (src/dns-server/listeners.ts) on a loopback address
 * (no root: port 41054 on a random 127.236.x.y): a forwarded answer that comes
 * back after its gateway was closed (the network's last container left while
 * the upstream was asked) is dropped, not thrown where nothing catches it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import * as dnsPacket from 'dns-packet';
import { GatewayListeners } from '../../../src/dns-server/listeners.ts';

const PORT = 41054;
const GW = `127.236.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

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
});
