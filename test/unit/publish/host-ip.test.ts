import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIP, hostIPsOverlap } from '../../../src/domain/publish/index.ts';

describe('canonicalIP', () => {
  const rows: Array<[string, string | undefined]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['::0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['fe80::1:2', 'fe80::1:2'],
    ['1::2::3', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['256.0.0.1', undefined],
    ['localhost', undefined],
  ];
  for (const [input, expected] of rows) {
    it(`reads ${input}`, () => assert.equal(canonicalIP(input), expected));
  }
});

describe('hostIPsOverlap', () => {
  const rows: Array<[string, string, boolean]> = [
    ['0.0.0.0', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['::', '127.0.0.1', true],
    ['0.0.0.0', '::1', false],
    ['::1', '::0:1', true],
  ];
  for (const [a, b, expected] of rows) {
    it(`${a} vs ${b}: ${expected}`, () => {
      assert.equal(hostIPsOverlap(a, b), expected);
      assert.equal(hostIPsOverlap(b, a), expected);
    });
  }
});
