import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import {
  assertPublishLimit,
  MAX_PUBLISHED_PORTS,
  parsePublishSpec,
  parsePublishSpecs,
  resolvePortMappings,
  type PortMapping,
} from '../../../src/domain/publish/index.ts';

/** Parses and resolves against an empty host, as `run -p <spec>` would. */
function publish(spec: string): PortMapping[] {
  return resolvePortMappings([parsePublishSpec(spec)], []);
}
const tcp = (hostIP: string, hostPort: number, containerPort: number): PortMapping => ({
  hostIP,
  hostPort,
  containerPort,
  protocol: 'tcp',
});

describe('parsePublishSpec', () => {
  const good: Array<[string, PortMapping[]]> = [
    ['127.0.0.1:3000:8080/tcp', [tcp('127.0.0.1', 3000, 8080)]],
    ['127.0.0.1:3000-3001:8080-8081/tcp', [tcp('127.0.0.1', 3000, 8080), tcp('127.0.0.1', 3001, 8081)]],
    ['3000:8080', [tcp('0.0.0.0', 3000, 8080)]],
    ['3000:8080/sctp', [{ ...tcp('0.0.0.0', 3000, 8080), protocol: 'sctp' }]],
    ['3000:8080/UDP', [{ ...tcp('0.0.0.0', 3000, 8080), protocol: 'udp' }]],
    ['[::0]:8080:80/tcp', [tcp('::0', 8080, 80)]],
    ['[::1]:8080:80', [tcp('::1', 8080, 80)]],
    ['127.0.0.1::80', [tcp('127.0.0.1', 49153, 80)]],
    ['[::1]::80', [tcp('::1', 49153, 80)]],
    ['80', [tcp('0.0.0.0', 49153, 80)]],
    [':80', [tcp('0.0.0.0', 49153, 80)]],
    ['80-81/tcp', [tcp('0.0.0.0', 49153, 80), tcp('0.0.0.0', 49154, 81)]],
    ['127.0.0.1:7000-7005:79-84', [79, 80, 81, 82, 83, 84].map((c) => tcp('127.0.0.1', c + 6921, c))],
    ['7000-7005:80', [tcp('0.0.0.0', 7000, 80)]],
    ['65535:1', [tcp('0.0.0.0', 65535, 1)]],
  ];
  for (const [spec, expected] of good) {
    it(`maps ${spec}`, () => assert.deepEqual(publish(spec), expected));
  }

  const bad: Array<[string, string]> = [
    ['', 'no port specified: '],
    ['127.0.0.1:', 'no port specified: 127.0.0.1:'],
    ['1:2:3:4', 'invalid hostPort: 1:2:3'],
    ['80/xyz', 'invalid protocol "xyz"'],
    ['80/tcp/udp', 'failed to parse "80/tcp/udp", unexpected slashes'],
    ['70000', 'invalid containerPort: 70000'],
    ['0', 'invalid containerPort: 0'],
    ['8080:0', 'invalid containerPort: 0'],
    ['0:80', 'invalid hostPort: 0'],
    ['70000:80', 'invalid hostPort: 70000'],
    ['abc:80', 'invalid hostPort: abc'],
    ['81-80', 'invalid containerPort: 81-80'],
    ['8080-8082:3000-3001', 'invalid ranges specified for container and host Ports: 3000-3001 and 8080-8082'],
    ['7000-7005:79-85', 'invalid ranges specified for container and host Ports: 79-85 and 7000-7005'],
    ['8080:80-81', 'invalid ranges specified for container and host Ports: 80-81 and 8080'],
    ['127.0.0.1:3000:0.0.0.0:8080', 'invalid hostPort: 127.0.0.1:3000:0.0.0.0'],
    ['::1:80:80', 'invalid hostPort: ::1:80 (an IPv6 host IP must be in brackets: "[::1]:80:80")'],
    ['::0:5432:5432', 'invalid hostPort: ::0:5432 (an IPv6 host IP must be in brackets: "[::0]:5432:5432")'],
    ['[::1]:80', 'invalid hostPort: [::1]'],
    ['300.0.0.1:80:80', 'invalid ip address: 300.0.0.1'],
    ['foo:80:80', 'invalid ip address: foo'],
  ];
  for (const [spec, message] of bad) {
    it(`rejects ${JSON.stringify(spec)}`, () => {
      assert.throws(
        () => parsePublishSpec(spec),
        (e: unknown) => isTsnerdError(e, 'invalid') && e.message === message,
      );
    });
  }

  it('keeps the typed host and container text for messages', () => {
    const r = parsePublishSpec('127.0.0.1:7000-7005:80/udp');
    assert.deepEqual(r, {
      hostIP: '127.0.0.1',
      protocol: 'udp',
      container: { start: 80, end: 80 },
      host: { start: 7000, end: 7005 },
      hostText: '7000-7005',
      containerText: '80',
    });
  });

  it('drops exact repeats of a spec', () => {
    assert.equal(parsePublishSpecs(['80:80', '80:80', '81:81']).length, 2);
  });
});

describe('publish limit', () => {
  it(`refuses more than ${MAX_PUBLISHED_PORTS} published ports, naming the count and the limit`, () => {
    assert.doesNotThrow(() => assertPublishLimit(parsePublishSpecs([`40000-${40000 + MAX_PUBLISHED_PORTS - 1}:1-${MAX_PUBLISHED_PORTS}`])));
    // A host range for one container port is a pool: one port.
    assert.doesNotThrow(() => assertPublishLimit(parsePublishSpecs(['28000-28999:80'])));
    assert.throws(() => assertPublishLimit(parsePublishSpecs(['28000-28999:28000-28999'])), {
      kind: 'invalid',
      message: `cannot publish 1000 ports: a container publishes at most ${MAX_PUBLISHED_PORTS} (-p and -P together)`,
    });
    assert.throws(() => assertPublishLimit(parsePublishSpecs(['1-200:1-200', '301-400:301-400'])), { message: /cannot publish 300 ports/ });
  });
});
