import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlainFlags, type FlagSpec } from '../../../src/cli/flag-parser.ts';

const specs: Record<string, FlagSpec> = {
  name: { name: 'name', type: 'option' },
  publish: { name: 'publish', type: 'option', char: 'p', multiple: true },
  network: { name: 'network', type: 'option', aliases: ['net'], multiple: true },
  address: { name: 'address', type: 'option', char: 'a', charAliases: ['H'], aliases: ['host'] },
  detach: { name: 'detach', type: 'boolean', char: 'd' },
  rm: { name: 'rm', type: 'boolean' },
};

describe('parsePlainFlags', () => {
  it('reads long, short, aliased, repeated and = forms', () => {
    const r = parsePlainFlags(
      ['--name', 'web', '-p', '8080:80', '--publish=9090:90', '--net', 'a', '--network=b', '-H', '/run/c.sock', '-d', '--rm', 'busybox'],
      specs,
    );
    assert.deepEqual(r, {
      flags: { name: 'web', publish: ['8080:80', '9090:90'], network: ['a', 'b'], address: '/run/c.sock', detach: true, rm: true },
      positionals: ['busybox'],
    });
  });

  it('keeps positionals in order between flags', () => {
    assert.deepEqual(parsePlainFlags(['c1', '-d', 'c2'], specs), { flags: { detach: true }, positionals: ['c1', 'c2'] });
    assert.deepEqual(parsePlainFlags(['-'], specs), { flags: {}, positionals: ['-'] });
  });

  for (const [why, argv] of [
    ['an unknown flag', ['--bogus', 'x']],
    ['help', ['--help']],
    ['combined short flags', ['-dp', '80']],
    ['a short flag with its value attached', ['-p8080:80']],
    ['a value on a boolean', ['--rm=true']],
    ['a missing value', ['--name']],
    ['a value that looks like a flag', ['--name', '-x']],
    ['a single flag given twice', ['--name', 'a', '--name', 'b']],
    ['--', ['--', 'x']],
  ] as const) {
    it(`leaves ${why} to oclif`, () => {
      assert.equal(parsePlainFlags(argv, specs), undefined);
    });
  }

  it('fills booleans that default to false', () => {
    const quiet: Record<string, FlagSpec> = { quiet: { name: 'quiet', type: 'boolean', char: 'q', default: false } };
    assert.deepEqual(parsePlainFlags([], quiet), { flags: { quiet: false }, positionals: [] });
    assert.deepEqual(parsePlainFlags(['-q'], quiet), { flags: { quiet: true }, positionals: [] });
  });

  it('leaves commands with defaults or --no- flags to oclif', () => {
    assert.equal(parsePlainFlags([], { time: { name: 'time', type: 'option', default: 10 } }), undefined);
    assert.equal(parsePlainFlags([], { all: { name: 'all', type: 'boolean', allowNo: true } }), undefined);
    assert.equal(parsePlainFlags([], { all: { name: 'all', type: 'boolean', default: true } }), undefined);
  });
});
