import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveUser, userNeedsLookup } from '../../../src/domain/user-spec.ts';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n';
const group = 'root:x:0:\nstaff:x:50:\n';

test('resolves numeric, named and mixed users', () => {
  assert.deepEqual(resolveUser(undefined), { uid: 0, gid: 0 });
  assert.deepEqual(resolveUser('1000'), { uid: 1000, gid: 0 });
  assert.deepEqual(resolveUser('33', { passwd }), { uid: 33, gid: 34 });
  assert.deepEqual(resolveUser('www', { passwd }), { uid: 33, gid: 34 });
  assert.deepEqual(resolveUser('www:staff', { passwd, group }), { uid: 33, gid: 50 });
  assert.deepEqual(resolveUser('5:6'), { uid: 5, gid: 6 });
});

test('unknown names and malformed values are refused', () => {
  assert.throws(() => resolveUser('nobody', { passwd }), /unable to find user "nobody"/);
  assert.throws(() => resolveUser('www:nogroup', { passwd, group }), /unable to find group "nogroup"/);
  assert.throws(() => resolveUser('a:b:c'), /invalid user "a:b:c"/);
});

test('only names need the rootfs files', () => {
  assert.equal(userNeedsLookup('1:2'), false);
  assert.equal(userNeedsLookup(''), false);
  assert.equal(userNeedsLookup('www'), true);
  assert.equal(userNeedsLookup('1'), true);
});
