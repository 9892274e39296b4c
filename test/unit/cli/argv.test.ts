import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hoistGlobalFlags } from '../../../src/cli/argv.ts';

describe('hoistGlobalFlags', () => {
  it('moves leading global flags after the command ID', () => {
    assert.deepEqual(hoistGlobalFlags(['-n', 'k8s.io', 'ps', '-a']), ['ps', '-n', 'k8s.io', '-a']);
    assert.deepEqual(hoistGlobalFlags(['--namespace=x', '--debug', 'network', 'ls', '-q']), [
      'network',
      'ls',
      '--namespace=x',
      '--debug',
      '-q',
    ]);
  });

  it('never moves them past the command into the container arguments', () => {
    assert.deepEqual(hoistGlobalFlags(['-a', '/s.sock', 'run', 'busybox', 'ls', '-n']), ['run', '-a', '/s.sock', 'busybox', 'ls', '-n']);
  });

  it('leaves argv alone without leading globals', () => {
    assert.deepEqual(hoistGlobalFlags(['run', '-n', 'x', 'busybox']), ['run', '-n', 'x', 'busybox']);
  });
});
