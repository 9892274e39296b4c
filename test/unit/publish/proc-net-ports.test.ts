import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import { parseProcNet, parseProcNetSockets, readUsedHostPorts } from '../../../src/adapters/host/proc-net-ports.ts';
import { assertPortsFree, usedPortsOf } from '../../../src/domain/publish/port-conflicts.ts';
import type { PortMapping } from '../../../src/domain/publish/port-mapping.ts';

const PROC = fileURLToPath(new URL('../../fixtures/proc-net', import.meta.url));
const fixture = (name: string) => readFileSync(`${PROC}/net/${name}`, 'utf8');

/** What LinuxContainerNetworkHost.usedPorts gives the run path: host sockets, then other containers' mappings. */
const usedWith = async (others: readonly PortMapping[]) => [...(await readUsedHostPorts(PROC)), ...usedPortsOf(others)];
const checkConflicts = async (mappings: readonly PortMapping[], others: readonly PortMapping[]) =>
  assertPortsFree(mappings, await usedWith(others));

describe('parseProcNet', () => {
  it('keeps only listening TCP sockets, decoding little-endian IPv4 words', () => {
    assert.deepEqual(parseProcNet(fixture('tcp'), 'tcp', true), [
      { protocol: 'tcp', hostIP: '0.0.0.0', port: 5000 },
      { protocol: 'tcp', hostIP: '127.0.0.1', port: 80 },
    ]);
  });

  it('decodes IPv6 addresses, mapping IPv4-mapped ones to IPv4', () => {
    assert.deepEqual(
      parseProcNet(fixture('tcp6'), 'tcp', true).map((u) => `${u.hostIP} ${u.port}`),
      [':: 8080', '::1 8081', '127.0.0.2 8082', 'fe80::70a6:57ff:fe71:c75d 8083'],
    );
  });

  it('keeps every bound UDP socket, connected or not', () => {
    assert.deepEqual(parseProcNet(fixture('udp'), 'udp', true), [
      { protocol: 'udp', hostIP: '0.0.0.0', port: 5353 },
      { protocol: 'udp', hostIP: '127.0.0.53', port: 53 },
      { protocol: 'udp', hostIP: '127.0.0.1', port: 50000 },
    ]);
  });

  it('reads words in big-endian order on big-endian hosts', () => {
    assert.deepEqual(parseProcNet(fixture('tcp'), 'tcp', false)[1], { protocol: 'tcp', hostIP: '1.0.0.127', port: 80 });
  });

  it("gives each socket's inode (what names the process holding it)", () => {
    assert.deepEqual(
      parseProcNetSockets(fixture('udp'), 'udp', true).map((u) => `${u.hostIP}:${u.port} ${u.inode}`),
      ['0.0.0.0:5353 3001', '127.0.0.53:53 3002', '127.0.0.1:50000 3003'],
    );
  });

  it('skips malformed lines', () => {
    assert.deepEqual(parseProcNet('header\n  0: zz:0050 x 0A\n\n  1: 0100007F 0 0A\n', 'tcp', true), []);
  });
});

describe('host port usage', () => {
  it('reads all tables, treating a missing one (udp6) as empty', async () => {
    const used = await readUsedHostPorts(PROC);
    assert.equal(used.filter((u) => u.protocol === 'tcp').length, 6);
    assert.equal(used.filter((u) => u.protocol === 'udp').length, 3);
  });

  it('adds the ports other containers publish', async () => {
    const used = await usedWith([{ hostIP: '127.0.0.1', hostPort: 7000, containerPort: 80, protocol: 'sctp' }]);
    assert.deepEqual(used.at(-1), { protocol: 'sctp', hostIP: '127.0.0.1', port: 7000 });
  });

  it('reports a port held by a host socket or by another container', async () => {
    const m = (hostIP: string, hostPort: number, protocol: 'tcp' | 'udp' = 'tcp') => ({ hostIP, hostPort, containerPort: 80, protocol });
    await checkConflicts([m('127.0.0.1', 5001)], []);
    await assert.rejects(
      checkConflicts([m('127.0.0.1', 5000)], []),
      (e: unknown) => isTsnerdError(e, 'conflict') && e.message === 'bind for 127.0.0.1:5000 failed: port is already allocated',
    );
    await assert.rejects(
      checkConflicts([m('0.0.0.0', 5353, 'udp')], []),
      (e: unknown) => isTsnerdError(e) && e.message === 'bind for 0.0.0.0:5353 failed: port is already allocated',
    );
    await assert.rejects(
      checkConflicts([m('0.0.0.0', 6000)], [m('127.0.0.1', 6000)]),
      (e: unknown) => isTsnerdError(e) && e.message === 'bind for 0.0.0.0:6000 failed: port is already allocated',
    );
  });
});
