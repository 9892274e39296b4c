import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isTsnerdError } from '../../../src/domain/errors.ts';
import {
  exposedPorts,
  exposedPortsConfig,
  parseExposeSpec,
  parsePublishSpecs,
  publishAllRequests,
  resolvePortMappings,
} from '../../../src/domain/publish/index.ts';

describe('exposed ports', () => {
  it('merges image ExposedPorts with --expose, without repeats', () => {
    const ports = exposedPorts(['8089', '80/tcp', '53/UDP'], { '80/tcp': {} });
    assert.deepEqual(exposedPortsConfig(ports), { '80/tcp': {}, '8089/tcp': {}, '53/udp': {} });
  });

  it('expands a range', () => {
    assert.deepEqual(parseExposeSpec('7000-7001/udp'), [
      { port: 7000, protocol: 'udp' },
      { port: 7001, protocol: 'udp' },
    ]);
  });

  const bad: Array<[string, string]> = [
    ['80:80', 'invalid port format for --expose: 80:80'],
    ['80/xyz', 'invalid protocol for --expose: 80/xyz'],
    ['abc', 'invalid range format for --expose: abc'],
    ['70000', 'invalid range format for --expose: 70000'],
  ];
  for (const [spec, message] of bad) {
    it(`rejects --expose ${spec}`, () => {
      assert.throws(
        () => parseExposeSpec(spec),
        (e: unknown) => isTsnerdError(e, 'invalid') && e.message === message,
      );
    });
  }

  it('publishes every exposed port not already published, on automatic host ports', () => {
    const explicit = parsePublishSpecs(['8080:80']);
    const all = [...explicit, ...publishAllRequests(exposedPorts(['8089'], { '80/tcp': {} }), explicit)];
    assert.deepEqual(resolvePortMappings(all, []), [
      { hostIP: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIP: '0.0.0.0', hostPort: 49153, containerPort: 8089, protocol: 'tcp' },
    ]);
  });
});
