/**
 * A DNS server for complaints.test.ts that answers every A question with one
 * address (a wildcard zone: the "search domain that answers every name" of
 * podman#26198, or another DNS server on the host holding port 53). Run only
 * inside network namespaces the test created.
 *
 * argv: <listen address> <answer address>   prints "ready" once UDP and TCP 53 are bound.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import * as dnsPacket from 'dns-packet';

const [address = '0.0.0.0', answerIp = '10.215.250.250'] = process.argv.slice(2);

function answer(msg: Buffer): Buffer {
  const q = dnsPacket.decode(msg);
  const question = q.questions![0]!;
  const answers: dnsPacket.Answer[] = question.type === 'A' ? [{ name: question.name, type: 'A', ttl: 5, data: answerIp }] : [];
  return dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: [question], answers });
}

const udp = createSocket('udp4');
udp.on('message', (msg, rinfo) => udp.send(answer(msg), rinfo.port, rinfo.address));
const tcp = createServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('error', () => undefined);
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
      const reply = answer(buf.subarray(2, buf.readUInt16BE(0) + 2));
      buf = buf.subarray(buf.readUInt16BE(0) + 2);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reply.length);
      sock.write(Buffer.concat([len, reply]));
    }
  });
});
udp.bind(53, address, () => tcp.listen(53, address, () => process.stdout.write('ready\n')));
