import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import {
  dockerPortMap,
  formatPortLines,
  formatPortsColumn,
  lookupPublicPort,
  parsePortQuery,
  parsePublishSpecs,
  resolvePortMappings,
} from '../../../src/domain/publish/index.ts';

const mappings = (...specs: string[]) => resolvePortMappings(parsePublishSpecs(specs), []);

describe('formatPortsColumn', () => {
  const rows: Array<[string[], string]> = [
    [['8080:80'], '0.0.0.0:8080->80/tcp'],
    [['127.0.0.1:7000-7005:79-84'], '127.0.0.1:7000-7005->79-84/tcp'],
    [['127.0.0.1:7000-7005:79-84', '8080:80'], '127.0.0.1:7000-7005->79-84/tcp, 0.0.0.0:8080->80/tcp'],
    [['8080:80', '8081:81', '8082:90'], '0.0.0.0:8080-8081->80-81/tcp, 0.0.0.0:8082->90/tcp'],
    [['8080:80', '8080:80/udp'], '0.0.0.0:8080->80/tcp, 0.0.0.0:8080->80/udp'],
    [['[::]:8080:80'], '[::]:8080->80/tcp'],
    [[], ''],
  ];
  for (const [specs, expected] of rows) {
    it(`shows ${JSON.stringify(specs)} as ${JSON.stringify(expected)}`, () => {
      assert.equal(formatPortsColumn(mappings(...specs)), expected);
    });
  }
});

describe('tsnerd port output', () => {
  it('prints one line per mapping', () => {
    assert.deepEqual(formatPortLines(mappings('8080:80', '127.0.0.1:9000-9001:90-91/udp')), [
      '80/tcp -> 0.0.0.0:8080',
      '90/udp -> 127.0.0.1:9000',
      '91/udp -> 127.0.0.1:9001',
    ]);
  });

  it('looks up one private port, tcp by default', () => {
    const m = mappings('8080:80', '5353:53/udp');
    assert.equal(lookupPublicPort(m, parsePortQuery('80'), 'abc'), '0.0.0.0:8080');
    assert.equal(lookupPublicPort(m, parsePortQuery('53/udp'), 'abc'), '0.0.0.0:5353');
  });

  it('reports a port that is not published', () => {
    assert.throws(
      () => lookupPublicPort(mappings('8080:80'), parsePortQuery('80/udp'), 'abc123'),
      (e: unknown) => isTsnerdError(e, 'not-found') && e.message === 'no public port 80/udp published for "abc123"',
    );
  });

  it('rejects bad queries', () => {
    assert.throws(
      () => parsePortQuery('0'),
      (e: unknown) => isTsnerdError(e, 'invalid') && e.message === 'unexpected port',
    );
    assert.throws(
      () => parsePortQuery('80/xyz'),
      (e: unknown) => isTsnerdError(e) && e.message === 'invalid protocol "xyz"',
    );
    assert.throws(
      () => parsePortQuery('http'),
      (e: unknown) => isTsnerdError(e) && e.message === 'invalid port "http"',
    );
  });
});

describe('dockerPortMap', () => {
  it('renders NetworkSettings.Ports / HostConfig.PortBindings', () => {
    assert.deepEqual(dockerPortMap(mappings('8080:80', '127.0.0.1:8081:80', '5353:53/udp')), {
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '127.0.0.1', HostPort: '8081' },
      ],
      '53/udp': [{ HostIp: '0.0.0.0', HostPort: '5353' }],
    });
  });

  it('is empty without mappings', () => {
    assert.deepEqual(dockerPortMap([]), {});
  });
});
