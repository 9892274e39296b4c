import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import {
  allocateHostPorts,
  assertPortsFree,
  parsePublishSpecs,
  resolvePortMappings,
  usedPortsOf,
  type UsedPort,
} from '../../../src/domain/publish/index.ts';

const resolve = (specs: string[], used: UsedPort[] = []) => resolvePortMappings(parsePublishSpecs(specs), used);
const hostPorts = (specs: string[], used: UsedPort[] = []) => resolve(specs, used).map((m) => m.hostPort);
const isMessage = (message: string) => (e: unknown) => isTsnerdError(e) && e.message === message;

describe('resolvePortMappings', () => {
  it('refuses an explicit host port bound on the wildcard address', () => {
    assert.throws(
      () => resolve(['5000:80'], [{ protocol: 'tcp', hostIP: '0.0.0.0', port: 5000 }]),
      (e: unknown) => isTsnerdError(e, 'conflict') && e.message === 'bind for 0.0.0.0:5000 failed: port is already allocated',
    );
  });

  it('names the requested host IP and the taken port of a range', () => {
    assert.throws(
      () => resolve(['127.0.0.1:7000-7002:80-82'], [{ protocol: 'tcp', hostIP: '0.0.0.0', port: 7001 }]),
      isMessage('bind for 127.0.0.1:7001 failed: port is already allocated'),
    );
  });

  it('names the address the port is taken on when it is of the other family ([::] for 0.0.0.0)', () => {
    const v6 = (port: number): UsedPort[] => [{ protocol: 'tcp', hostIP: '::', port }];
    assert.throws(() => resolve(['5000:80'], v6(5000)), isMessage('bind for [::]:5000 failed: port is already allocated'));
    assert.throws(
      () => resolve(['127.0.0.1:7000-7002:80-82'], v6(7001)),
      isMessage('bind for [::]:7001 failed: port is already allocated'),
    );
    assert.throws(
      () => resolve(['[::]:5000:80'], [{ protocol: 'tcp', hostIP: '0.0.0.0', port: 5000 }]),
      isMessage('bind for 0.0.0.0:5000 failed: port is already allocated'),
    );
    const mapping = { protocol: 'tcp', hostIP: '0.0.0.0', hostPort: 5000, containerPort: 80 } as const;
    assert.throws(() => assertPortsFree([mapping], v6(5000)), isMessage('bind for [::]:5000 failed: port is already allocated'));
  });

  it('ignores a used port of another protocol or another specific address', () => {
    const used: UsedPort[] = [
      { protocol: 'udp', hostIP: '0.0.0.0', port: 5000 },
      { protocol: 'tcp', hostIP: '127.0.0.2', port: 5000 },
      { protocol: 'tcp', hostIP: '::1', port: 5000 },
    ];
    assert.deepEqual(hostPorts(['127.0.0.1:5000:80'], used), [5000]);
  });

  it('treats a port used on a specific IPv4 address as taken for 0.0.0.0', () => {
    assert.throws(
      () => resolve(['5000:80/udp'], [{ protocol: 'udp', hostIP: '127.0.0.1', port: 5000 }]),
      isMessage('bind for 0.0.0.0:5000 failed: port is already allocated'),
    );
  });

  it('brackets an IPv6 host IP in the conflict message', () => {
    assert.throws(
      () => resolve(['[::1]:5000:80'], [{ protocol: 'tcp', hostIP: '::', port: 5000 }]),
      isMessage('bind for [::1]:5000 failed: port is already allocated'),
    );
  });

  it('binds the first free port of a pool', () => {
    assert.deepEqual(hostPorts(['7000-7005:80'], [{ protocol: 'tcp', hostIP: '0.0.0.0', port: 7000 }]), [7001]);
  });

  it('fails when every port of a pool is taken', () => {
    const used = [7000, 7001].map((port): UsedPort => ({ protocol: 'tcp', hostIP: '0.0.0.0', port }));
    assert.throws(
      () => resolve(['7000-7001:80'], used),
      isMessage('bind for 0.0.0.0 failed: all ports in range 7000-7001 are already allocated'),
    );
  });

  it('counts ports chosen for earlier specs of the same container as used', () => {
    assert.deepEqual(hostPorts(['80', '81']), [49153, 49154]);
    assert.throws(() => resolve(['8080:80', '8080:81']), isMessage('bind for 0.0.0.0:8080 failed: port is already allocated'));
  });

  it('gives a second container a different automatic port when the first one is passed as used', () => {
    const first = resolve(['80']);
    const second = resolve(['80'], usedPortsOf(first));
    assert.deepEqual([first[0]!.hostPort, second[0]!.hostPort], [49153, 49154]);
  });
});

describe('allocateHostPorts', () => {
  const used = (ports: number[], protocol: UsedPort['protocol'] = 'tcp'): UsedPort[] =>
    ports.map((port) => ({ protocol, hostIP: '0.0.0.0', port }));

  it('starts at 49153', () => {
    assert.deepEqual(allocateHostPorts(1, 'tcp', '0.0.0.0', []), { start: 49153, end: 49153 });
  });

  it('finds the first contiguous free block', () => {
    assert.deepEqual(allocateHostPorts(3, 'tcp', '0.0.0.0', used([49153, 49155])), { start: 49156, end: 49158 });
  });

  it('does not count ports of another protocol', () => {
    assert.deepEqual(allocateHostPorts(1, 'udp', '0.0.0.0', used([49153])), { start: 49153, end: 49153 });
  });

  it('refuses more ports than the range holds', () => {
    assert.throws(
      () => resolve(['49153-61000']),
      (e: unknown) => isTsnerdError(e, 'invalid') && e.message === 'can not allocate 11848 ports',
    );
  });

  it('fails when the range is exhausted', () => {
    assert.throws(
      () => allocateHostPorts(2, 'tcp', '0.0.0.0', used([10, 12]), { start: 10, end: 13 }),
      (e: unknown) => isTsnerdError(e, 'conflict') && e.message === 'no 2 free contiguous host ports left in 10-13 for 0.0.0.0/tcp',
    );
  });
});

describe('assertPortsFree', () => {
  it('passes free mappings and refuses taken ones', () => {
    const mappings = resolve(['127.0.0.1:6000:80']);
    assertPortsFree(mappings, [{ protocol: 'tcp', hostIP: '127.0.0.2', port: 6000 }]);
    assert.throws(
      () => assertPortsFree(mappings, [{ protocol: 'tcp', hostIP: '::ffff:127.0.0.1', port: 6000 }]),
      isMessage('bind for 127.0.0.1:6000 failed: port is already allocated'),
    );
  });
});
