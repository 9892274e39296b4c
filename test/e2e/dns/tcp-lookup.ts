/**
 * A DNS query over TCP from inside a network namespace (busybox nslookup has no TCP mode): node in
 * the netns of `pid` (nsenter) asks `server`:53 for the A records of `name`. The e2e DNS files share it.
 */
import * as dnsPacket from 'dns-packet';
import { execa } from 'execa';

/** The A records, or the error (`timeout`, `ECONNREFUSED`, ...). */
export async function tcpLookupIn(pid: number, name: string, server: string): Promise<string[] | string> {
  const query = dnsPacket.streamEncode({ id: 7, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] });
  const client = [
    "const s = require('node:net').connect({ host: process.argv[1], port: 53 });",
    "s.setTimeout(3000, () => { console.error('timeout'); process.exit(2); });",
    "s.on('error', (e) => { console.error(e.code); process.exit(2); });",
    "s.on('connect', () => s.write(Buffer.from(process.argv[2], 'hex')));",
    'let b = Buffer.alloc(0);',
    "s.on('data', (d) => { b = Buffer.concat([b, d]); if (b.length >= 2 && b.length >= b.readUInt16BE(0) + 2) { console.log(b.toString('hex')); s.destroy(); } });",
  ].join('\n');
  const r = await execa('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '-e', client, server, query.toString('hex')], {
    reject: false,
  });
  if (r.exitCode !== 0) return String(r.stderr).trim() || `exit ${r.exitCode}`;
  const answer = dnsPacket.streamDecode(Buffer.from(String(r.stdout).trim(), 'hex'));
  return (answer.answers ?? []).map((a) => (a as dnsPacket.StringAnswer).data);
}
