import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitAtPositional } from '../../../src/cli/command-argv.ts';

const flags = {
  name: { type: 'option' },
  env: { type: 'option', char: 'e' },
  network: { type: 'option', aliases: ['net'] },
  rm: { type: 'boolean' },
};

test('splits at the image, skipping flag values', () => {
  assert.deepEqual(splitAtPositional(['--rm', '--net', 'none', '-e', 'A=1', 'busybox', 'sh', '-c', 'exit 3'], flags, 1), {
    own: ['--rm', '--net', 'none', '-e', 'A=1', 'busybox'],
    rest: ['sh', '-c', 'exit 3'],
  });
  assert.deepEqual(splitAtPositional(['--name=x', 'img', '--rm'], flags, 1), { own: ['--name=x', 'img'], rest: ['--rm'] });
});

test('-- ends our flags', () => {
  assert.deepEqual(splitAtPositional(['--rm', '--', 'img', 'a'], flags, 1), { own: ['--rm', 'img'], rest: ['a'] });
});

test('without a positional everything is ours', () => {
  assert.deepEqual(splitAtPositional(['--rm'], flags, 1), { own: ['--rm'], rest: [] });
});
