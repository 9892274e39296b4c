/**
 * A stand-in for an outside resolver, run by the DNS e2e tests inside their
 * own netns (never a real outside address): `ext.dns-test` is 10.216.250.250,
 * every other name NXDOMAIN; `big.dns-test` has 80 A records, so its UDP
 * answer is truncated and must be asked again over TCP.
 *
 * argv: <listen address>   prints "ready" once UDP and TCP 53 are bound.
 */
import * as dnsPacket from 'dns-packet';
import { serveDns } from './serve-dns.ts';

const address = process.argv[2] ?? '0.0.0.0';

function answer(msg: Buffer, udp: boolean): Buffer {
  const q = dnsPacket.decode(msg);
  const question = q.questions![0]!;
  const name = question.name.toLowerCase();
  let answers: dnsPacket.Answer[] = [];
  let rcode = 3;
  if (name === 'ext.dns-test' && question.type === 'A') {
    answers = [{ name: question.name, type: 'A', ttl: 5, data: '10.216.250.250' }];
    rcode = 0;
  } else if (name === 'big.dns-test' && question.type === 'A') {
    answers = Array.from({ length: 80 }, (_, i) => ({ name: question.name, type: 'A' as const, ttl: 5, data: `10.216.251.${i + 1}` }));
    rcode = 0;
  }
  const flags = dnsPacket.RECURSION_AVAILABLE | rcode;
  const full = dnsPacket.encode({ id: q.id, type: 'response', flags, questions: [question], answers });
  if (udp && full.length > 512)
    return dnsPacket.encode({ id: q.id, type: 'response', flags: flags | dnsPacket.TRUNCATED_RESPONSE, questions: [question] });
  return full;
}

serveDns(address, answer);
