/**
 * The resolver's forwarder against upstreams on loopback sockets (no root: a
 * random high port): answers with the query's ID, TCP when the UDP answer is
 * truncated, the next upstream when one is silent, and a bound on queries in flight.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { ResolvConfForwarder } from '../../../src/dns-server/forwarder.ts';
import { FrameReader, frame } from '../../../src/dns-server/tcp-frames.ts';

const PORT = 41000 + Math.floor(Math.random() * 900);
/** Answers A queries with 10.216.77.<n>; `big` gets 80 records, truncated over UDP. */
const ANSWERING = `127.217.${1 + Math.floor(Math.random() * 250)}.1`;
/** Takes queries and never answers. */
const SILENT = `127.217.${1 + Math.floor(Math.random() * 250)}.2`;

function reply(msg: Buffer, udp: boolean): Buffer {
  const q = dnsPacket.decode(msg);
  const question = q.questions![0]!;
  const count = question.name === 'big' ? 80 : 1;
  const answers = Array.from({ length: count }, (_, i) => ({
    name: question.name,
    type: 'A' as const,
    ttl: 5,
    data: `10.216.77.${i + 1}`,
  }));
  const full = dnsPacket.encode({ id: q.id, type: 'response', questions: [question], answers });
  if (udp && full.length > 512)
    return dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.TRUNCATED_RESPONSE, questions: [question] });
  return full;
}

const query = (name: string, id: number) => dnsPacket.encode({ id, type: 'query', questions: [{ name, type: 'A' }] });

describe('ResolvConfForwarder', () => {
  let dir: string;
  let udp: Socket;
  let silent: Socket;
  let tcp: Server;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dns-fwd-'));
    udp = createSocket('udp4');
    udp.on('message', (m, r) => udp.send(reply(m, true), r.port, r.address));
    silent = createSocket('udp4');
    tcp = createServer((sock) => {
      const reader = new FrameReader();
      sock.on('data', (d: Buffer) => reader.push(d).forEach((m) => sock.write(frame(reply(m, false)))));
    });
    await new Promise<void>((r) => udp.bind(PORT, ANSWERING, () => r()));
    await new Promise<void>((r) => silent.bind(PORT, SILENT, () => r()));
    await new Promise<void>((r) => tcp.listen(PORT, ANSWERING, () => r()));
  });

  after(async () => {
    udp.close();
    silent.close();
    tcp.close();
    await rm(dir, { recursive: true, force: true });
  });

  const forwarder = async (servers: string[], maxInFlight?: number) => {
    const file = join(dir, `resolv-${servers.join('-')}-${maxInFlight ?? 0}.conf`);
    await writeFile(file, servers.map((s) => `nameserver ${s}\n`).join(''));
    return new ResolvConfForwarder([file], () => false, { port: PORT, ...(maxInFlight === undefined ? {} : { maxInFlight }) });
  };

  it('passes the upstream answer on with the query ID, over UDP and TCP', async () => {
    const f = await forwarder([ANSWERING]);
    for (const transport of ['udp', 'tcp'] as const) {
      const answer = dnsPacket.decode((await f.forward(query('x.example', 4321), transport, 512))!);
      assert.equal(answer.id, 4321);
      assert.deepEqual(
        answer.answers?.map((a) => (a as dnsPacket.StringAnswer).data),
        ['10.216.77.1'],
      );
    }
  });

  it('asks again over TCP when the UDP answer is truncated, and passes it whole if the client takes it', async () => {
    const f = await forwarder([ANSWERING]);
    assert.equal(dnsPacket.decode((await f.forward(query('big', 7), 'udp', 4096))!).answers?.length, 80);
    const small = dnsPacket.decode((await f.forward(query('big', 8), 'udp', 512))!);
    assert.equal((small.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE, dnsPacket.TRUNCATED_RESPONSE);
  });

  it('bounds the queries in flight: beyond the bound no answer at once, below it the next upstream after a silent one', async () => {
    const f = await forwarder([SILENT, ANSWERING], 2);
    const started = performance.now();
    const pending = [f.forward(query('a.example', 1), 'udp', 512), f.forward(query('b.example', 2), 'udp', 512)];
    assert.equal(await f.forward(query('c.example', 3), 'udp', 512), undefined);
    assert.ok(performance.now() - started < 500, 'refused without waiting');
    // The two in flight wait out the silent server (2 s), then get the second one's answer.
    for (const p of pending) assert.deepEqual(dnsPacket.decode((await p)!).answers?.length, 1);
    assert.ok(dnsPacket.decode((await f.forward(query('d.example', 4), 'tcp', 512))!).answers?.length);
  });
});
