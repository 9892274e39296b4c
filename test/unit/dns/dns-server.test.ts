/**
 * The resolver process against real sockets on a loopback address (no root:
 * port 41053 on a random 127.216.x.y), fed by a records.json in a temp dir.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, rename } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as dnsPacket from 'dns-packet';
import { applyJoin, emptyRecordSet, type DnsRecordSet } from '../../../src/domain/dns/records.ts';
import { NETWORK_PORTS_ARG, dnsServerPid, ensureDnsServer, stopDnsServer } from '../../../src/adapters/dns/process-dns-server.ts';

const PORT = 41053;
const SERVER = new URL('../../../src/dns-server/main.ts', import.meta.url).pathname;
const GW = `127.216.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

function records(extra: { id: string; name: string; ip: string }[]): DnsRecordSet {
  let set = emptyRecordSet();
  for (const c of [{ id: 'aaaa', name: 'a', ip: '10.216.9.2' }, ...extra]) {
    set = applyJoin(set, {
      namespace: 'default',
      id: c.id,
      endpoints: [{ network: 'dns-unit', record: { gateways: [GW], internal: false }, names: [c.name], aliases: [], ips: [c.ip] }],
    });
  }
  return set;
}

/** Container a at another address. */
function moved(): DnsRecordSet {
  return applyJoin(emptyRecordSet(), {
    namespace: 'default',
    id: 'aaaa',
    endpoints: [{ network: 'dns-unit', record: { gateways: [GW], internal: false }, names: ['a'], aliases: [], ips: ['10.216.9.9'] }],
  });
}

async function writeRecords(dir: string, set: DnsRecordSet): Promise<void> {
  await writeFile(join(dir, 'records.json.tmp'), JSON.stringify(set));
  await rename(join(dir, 'records.json.tmp'), join(dir, 'records.json'));
}

function udpRaw(msg: Buffer, timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, PORT, GW);
  });
}

async function query(name: string, type: dnsPacket.RecordType = 'A'): Promise<dnsPacket.DecodedPacket> {
  const reply = await udpRaw(
    dnsPacket.encode({ id: 4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] }),
  );
  assert.ok(reply, `no answer for ${name}`);
  return dnsPacket.decode(reply);
}

function tcpQuery(name: string): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: GW, port: PORT });
    const msg = dnsPacket.streamEncode({ id: 7, type: 'query', questions: [{ name, type: 'A' }] });
    let buf = Buffer.alloc(0);
    sock.on('connect', () => sock.write(msg));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        sock.destroy();
        resolve(dnsPacket.streamDecode(buf));
      }
    });
    sock.on('error', reject);
  });
}

/** The header's RCODE by name (the typings do not declare dns-packet's decoded `rcode`). */
const rcodeOf = (p: dnsPacket.Packet) => ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP'][(p.flags ?? 0) & 0xf];
const addresses = (p: dnsPacket.Packet) => (p.answers ?? []).map((a) => (a as { data: string }).data);

describe('dns-server process', () => {
  let dir: string;
  let child: ChildProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dns-unit-'));
    await writeRecords(dir, records([]));
    await writeFile(join(dir, 'resolv.conf'), ''); // no upstreams: forwarded names get SERVFAIL
    child = spawn(process.execPath, [SERVER, dir, '--port', String(PORT)], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const ready = await new Promise<string>((resolve) => {
      let text = '';
      child.stdio[3]!.on('data', (d: Buffer) => (text += d.toString()));
      child.stdio[3]!.on('close', () => resolve(text));
    });
    assert.match(ready, /"ok":true/);
  });

  after(async () => {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a local name over UDP and TCP, and NXDOMAIN in its own domain', async () => {
    assert.deepEqual(addresses(await query('a')), ['10.216.9.2']);
    assert.deepEqual(addresses(await tcpQuery('a.dns-unit')), ['10.216.9.2']);
    const nx = await query('zz.dns-unit');
    assert.equal(rcodeOf(nx), 'NXDOMAIN');
    assert.equal(nx.id, 4242);
    assert.equal(rcodeOf(await query('example.invalid')), 'SERVFAIL');
  });

  it('serves a change of the record file from the next queries on, without a restart', async () => {
    await writeRecords(dir, records([{ id: 'bbbb', name: 'b', ip: '10.216.9.3' }]));
    let answer: string[] = [];
    for (let i = 0; i < 50 && answer.length === 0; i++) {
      answer = addresses(await query('b'));
      if (answer.length === 0) await sleep(10);
    }
    assert.deepEqual(answer, ['10.216.9.3']);
    await writeRecords(dir, records([]));
    let rcode = '';
    for (let i = 0; i < 50 && rcode !== 'NXDOMAIN'; i++) {
      rcode = rcodeOf(await query('b.dns-unit')) ?? '';
      if (rcode !== 'NXDOMAIN') await sleep(10);
    }
    assert.equal(rcode, 'NXDOMAIN');
  });

  it('answers a repeated question from its cache with the new ID, and not after the records change', async () => {
    const ask = async (id: number) =>
      dnsPacket.decode(
        (await udpRaw(dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'a', type: 'A' }] })))!,
      );
    for (const id of [11, 12, 13]) {
      const r = await ask(id);
      assert.equal(r.id, id);
      assert.deepEqual(addresses(r), ['10.216.9.2']);
    }
    // The same name moves to another address: the next answer has it (the cache went with the old records).
    await writeRecords(dir, moved());
    let answer: string[] = [];
    for (let i = 0; i < 50 && answer[0] !== '10.216.9.9'; i++) {
      answer = addresses(await ask(20 + i));
      if (answer[0] !== '10.216.9.9') await sleep(10);
    }
    assert.deepEqual(answer, ['10.216.9.9']);
    await writeRecords(dir, records([]));
    for (let i = 0; i < 50 && answer[0] !== '10.216.9.2'; i++) {
      answer = addresses(await ask(80 + i));
      if (answer[0] !== '10.216.9.2') await sleep(10);
    }
    assert.deepEqual(answer, ['10.216.9.2']);
  });

  it('rotates a shared alias in every answer (such answers are not cached)', async () => {
    const shared = (id: string, ip: string) => ({
      namespace: 'default',
      id,
      endpoints: [{ network: 'dns-unit', record: { gateways: [GW], internal: false }, names: [id], aliases: ['both'], ips: [ip] }],
    });
    await writeRecords(dir, applyJoin(applyJoin(records([]), shared('s1', '10.216.9.5')), shared('s2', '10.216.9.6')));
    let first = new Set<string>();
    for (let i = 0; i < 100 && first.size < 2; i++) {
      const r = addresses(await query('both'));
      if (r.length === 2) first.add(r[0]!);
      else await sleep(10);
    }
    assert.equal(first.size, 2, 'both addresses come first in turn');
    first = new Set();
    for (let i = 0; i < 4; i++) first.add(addresses(await query('both'))[0]!);
    assert.equal(first.size, 2);
    await writeRecords(dir, records([]));
  });

  it('survives malformed packets and keeps answering', async () => {
    const good = dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'a', type: 'A' }] });
    const wrongCounts = Buffer.from(good);
    wrongCounts.writeUInt16BE(0xffff, 4); // 65535 questions announced, one present
    wrongCounts.writeUInt16BE(0xffff, 6);
    // A name that is a compression pointer to itself (offset 12), and one pointing forward.
    const header = good.subarray(0, 12);
    const selfLoop = Buffer.concat([header, Buffer.from([0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01])]);
    const forward = Buffer.concat([header, Buffer.from([0xc0, 0x20, 0x00, 0x01, 0x00, 0x01])]);
    const longLabels = Buffer.concat([header, Buffer.alloc(300, 0x3f)]);
    const oversized = Buffer.concat([good, Buffer.alloc(60_000, 0xab)]);
    const badLabel = Buffer.concat([header, Buffer.from([0x80, 0x01, 0x00])]);
    const response = Buffer.from(good);
    response.writeUInt16BE(0x8000, 2); // a response: must not be answered
    const cases = [
      Buffer.alloc(0),
      Buffer.from([1, 2, 3]),
      good.subarray(0, 12),
      good.subarray(0, good.length - 3),
      wrongCounts,
      selfLoop,
      forward,
      longLabels,
      oversized,
      badLabel,
    ];
    for (const bad of cases) {
      const reply = await udpRaw(bad, 300);
      if (reply) assert.equal(dnsPacket.decode(reply).type, 'response');
    }
    assert.equal(await udpRaw(response, 300), undefined);
    const formerr = await udpRaw(selfLoop);
    assert.equal(formerr && rcodeOf(dnsPacket.decode(formerr)), 'FORMERR');
    // TCP: a length prefix promising more than is sent, then garbage, then a close.
    await new Promise<void>((resolve) => {
      const sock = connect({ host: GW, port: PORT }, () => sock.end(Buffer.from([0xff, 0xff, 1, 2, 3])));
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
    });
    assert.equal(child.exitCode, null);
    assert.deepEqual(addresses(await query('a')), ['10.216.9.2']);
    assert.deepEqual(addresses(await tcpQuery('a')), ['10.216.9.2']);
  });

  it('keeps the last good records when the file is broken', async () => {
    await writeFile(join(dir, 'records.json'), '{"networks": ');
    await sleep(100);
    assert.deepEqual(addresses(await query('a')), ['10.216.9.2']);
    await writeRecords(dir, records([]));
  });

  it('exits by itself a few seconds after the last container is gone, removing its pid file', async () => {
    assert.ok(existsSync(join(dir, 'server.pid')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await writeRecords(dir, emptyRecordSet());
    const code = await Promise.race([exited, sleep(15_000, 'still running')]);
    assert.equal(code, 0);
    assert.equal(existsSync(join(dir, 'server.pid')), false);
  });
});

describe('a resolver of an older tsnerd (no --network-ports in its argv)', () => {
  it('is replaced when a network with its own port (dns_bind_port) joins, and kept otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dns-unit-old-'));
    const pids: number[] = [];
    try {
      await writeRecords(dir, records([]));
      await writeFile(join(dir, 'resolv.conf'), '');
      // As an older tsnerd started it: the script and the dir, no mark.
      const old = spawn(process.execPath, [SERVER, dir, '--port', String(PORT + 2)], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
      pids.push(old.pid!);
      await new Promise<void>((resolve) => old.stdio[3]!.once('data', () => resolve())); // its readiness line
      assert.equal(await dnsServerPid(dir), old.pid);
      assert.equal(await ensureDnsServer(dir, { port: PORT + 2 }), old.pid, 'no network with a port: kept');
      const fresh = await ensureDnsServer(dir, { port: PORT + 2, networkPorts: true });
      pids.push(fresh);
      assert.notEqual(fresh, old.pid);
      await new Promise((resolve) => (old.exitCode !== null || old.signalCode !== null ? resolve(undefined) : old.once('exit', resolve)));
      assert.ok(readFileSync(`/proc/${fresh}/cmdline`, 'utf8').split('\0').includes(NETWORK_PORTS_ARG));
      assert.equal(await ensureDnsServer(dir, { port: PORT + 2, networkPorts: true }), fresh, 'a marked one is kept');
    } finally {
      await stopDnsServer(dir);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});
