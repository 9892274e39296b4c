/**
 * The UDP and TCP side of the DNS stand-ins the e2e tests run inside their own network
 * namespaces (upstream-server.ts, wildcard-server.ts): each message goes to `answer`
 * (`udp`: whether it came over UDP), TCP with its 2-byte length framing. Prints "ready"
 * once port 53 is bound on both.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export function serveDns(address: string, answer: (msg: Buffer, udp: boolean) => Buffer): void {
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => udp.send(answer(msg, true), rinfo.port, rinfo.address));
  const tcp = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        const reply = answer(buf.subarray(2, buf.readUInt16BE(0) + 2), false);
        buf = buf.subarray(buf.readUInt16BE(0) + 2);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        sock.write(Buffer.concat([len, reply]));
      }
    });
  });
  udp.bind(53, address, () => tcp.listen(53, address, () => process.stdout.write('ready\n')));
}
