import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultContainerName, findContainer, newContainerId } from '../../../src/domain/container-ref.ts';
import { parseEnvFlags, parseLabelFlags } from '../../../src/domain/container-flags.ts';
import { parseSignal } from '../../../src/domain/signal.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

const list = [
  { id: 'abc111', name: 'web' },
  { id: 'abc222', name: 'db' },
  { id: 'fff000', name: 'abc' },
];

test('finds by exact id, then name, then unique prefix', () => {
  assert.equal(findContainer('abc222', list).name, 'db');
  assert.equal(findContainer('abc', list).id, 'fff000');
  assert.equal(findContainer('abc1', list).name, 'web');
  assert.throws(() => findContainer('ab', list), /multiple IDs found with provided prefix: "ab"/);
  assert.throws(
    () => findContainer('zzz', list),
    (e) => isTsnerdError(e, 'not-found') && e.message === 'no such container: "zzz"',
  );
});

test('ids are 64 hex and default names come from the image', () => {
  const id = newContainerId();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(defaultContainerName('docker.io/library/busybox:latest', id), `busybox-${id.slice(0, 5)}`);
});

test('-e takes KEY=VALUE or inherits KEY, and refuses a missing key', () => {
  assert.deepEqual(parseEnvFlags(['A=1', 'B', 'C'], { B: 'two' }), ['A=1', 'B=two']);
  assert.throws(
    () => parseEnvFlags(['=x'], {}),
    (e) => isTsnerdError(e, 'usage') && e.message === 'invalid environment variable "=x"',
  );
});

test('--label refuses the internal prefixes', () => {
  assert.deepEqual(parseLabelFlags(['a=b', 'c']), { a: 'b', c: '' });
  assert.throws(() => parseLabelFlags(['tsnerd/name=x']), /internal label "tsnerd\/name" must not be specified manually/);
});

test('signals by name or number', () => {
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('hup'), 1);
  assert.throws(
    () => parseSignal('NOPE'),
    (e) => isTsnerdError(e, 'usage'),
  );
  assert.throws(
    () => parseSignal('0'),
    (e) => isTsnerdError(e, 'usage'),
  );
});
