/**
 * A DNS server for complaints.test.ts that answers every A question with one
 * address (a wildcard zone: the "search domain that answers every name" of
 * podman#26198, or another DNS server on the host holding port 53). Run only
 * inside network namespaces the test created.
 *
 * argv: <listen address> <answer address>   prints "ready" once UDP and TCP 53 are bound.
 */
import * as dnsPacket from 'dns-packet';
import { serveDns } from './serve-dns.ts';

const [address = '0.0.0.0', answerIp = '10.215.250.250'] = process.argv.slice(2);

function answer(msg: Buffer): Buffer {
  const q = dnsPacket.decode(msg);
  const question = q.questions![0]!;
  const answers: dnsPacket.Answer[] = question.type === 'A' ? [{ name: question.name, type: 'A', ttl: 5, data: answerIp }] : [];
  return dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: [question], answers });
}

serveDns(address, (msg) => answer(msg));
