import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoControlCharacters, oneLine, quote } from '../../../src/domain/text.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

describe('quote', () => {
  const cases: Array<[string, string]> = [
    ['plain', '"plain"'],
    ['a\nb', '"a\\nb"'],
    ['tab\there', '"tab\\there"'],
    ['nul\u0000', '"nul\\x00"'],
    ['del\u007f', '"del\\x7f"'],
    ['c1\u0085', '"c1\\x85"'],
    ['ls\u2028', '"ls\\u2028"'],
    ['say "hi" \\o/', '"say \\"hi\\" \\\\o/"'],
    ['héllo', '"héllo"'],
  ];
  for (const [value, shown] of cases) {
    it(`shows ${JSON.stringify(value)} as ${shown}`, () => assert.equal(quote(value), shown));
  }

  it('shortens a long value to its start, its end and its length, on one line', () => {
    const shown = quote(`${'a'.repeat(300)}/x\n`);
    assert.equal(shown, `"${'a'.repeat(60)}…${'a'.repeat(37)}/x\\n" (303 characters)`);
  });
});

describe('assertNoControlCharacters', () => {
  it('passes printable text, spaces and non-ASCII letters', () => {
    assertNoControlCharacters('--label', 'a b é');
  });
  it('names the flag and shows the value escaped', () => {
    assert.throws(
      () => assertNoControlCharacters('--dns-search', 'a.com\nnameserver 1.2.3.4'),
      (e) => isTsnerdError(e, 'invalid') && e.message === 'invalid --dns-search "a.com\\nnameserver 1.2.3.4": contains a control character',
    );
  });
});

describe('oneLine', () => {
  it('joins lines and drops blank ones', () => {
    assert.equal(oneLine('Missing 1 required arg:\nnetwork  network name\n\n'), 'Missing 1 required arg: network  network name');
  });
  it('escapes other control characters', () => assert.equal(oneLine('a\tb\u0000'), 'a\\tb\\x00'));
});
