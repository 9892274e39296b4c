import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarRepository, normalizeImageName, parseImageRef, registryHost } from '../../../src/domain/image-ref.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

const D = 'sha256:' + 'a'.repeat(64);

test('short names get docker.io/library and the latest tag', () => {
  assert.equal(normalizeImageName('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeImageName('busybox:1.36'), 'docker.io/library/busybox:1.36');
  assert.equal(normalizeImageName('docker.io/busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeImageName('index.docker.io/library/busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeImageName('someone/app'), 'docker.io/someone/app:latest');
});

test('a first component with a dot, a port or localhost is a registry', () => {
  assert.equal(normalizeImageName('127.0.0.1:5000/busybox:latest'), '127.0.0.1:5000/busybox:latest');
  assert.equal(normalizeImageName('localhost/x'), 'localhost/x:latest');
  assert.equal(normalizeImageName('ghcr.io/a/b/c:v1'), 'ghcr.io/a/b/c:v1');
  assert.deepEqual(parseImageRef('127.0.0.1:5000/busybox'), {
    domain: '127.0.0.1:5000',
    path: 'busybox',
    tag: 'latest',
    digest: undefined,
  });
});

test('digests are kept, with or without a tag', () => {
  assert.equal(normalizeImageName(`busybox@${D}`), `docker.io/library/busybox@${D}`);
  assert.equal(normalizeImageName(`busybox:1@${D}`), `docker.io/library/busybox:1@${D}`);
  assert.equal(parseImageRef(`busybox@${D}`).tag, undefined);
});

test('bad references are invalid errors naming the input', () => {
  for (const bad of ['', 'Busybox', 'a b', 'busybox:', 'busybox@sha256:xyz', 'a//b', '-x']) {
    assert.throws(
      () => parseImageRef(bad),
      (e: unknown) => isTsnerdError(e, 'invalid') && e.message.includes(`"${bad}"`),
      bad,
    );
  }
});

test('familiar names and registry hosts', () => {
  assert.equal(familiarRepository(parseImageRef('busybox')), 'busybox');
  assert.equal(familiarRepository(parseImageRef('someone/app')), 'someone/app');
  assert.equal(familiarRepository(parseImageRef('127.0.0.1:5000/busybox')), '127.0.0.1:5000/busybox');
  assert.equal(registryHost('docker.io'), 'registry-1.docker.io');
  assert.equal(registryHost('127.0.0.1:5000'), '127.0.0.1:5000');
});
