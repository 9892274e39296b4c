import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runProcess } from '../../../src/adapters/host/run-process.ts';

describe('runProcess', () => {
  it('captures stdout, stderr and the exit code, with stdin from input', async () => {
    const r = await runProcess('sh', ['-c', 'read line; echo "out:$line"; echo err >&2; exit 3'], { input: 'hello\n' });
    assert.deepEqual([r.exitCode, r.signal, r.stdout, r.stderr, r.timedOut], [3, null, 'out:hello\n', 'err\n', false]);
    assert.equal(r.spawnError, undefined);
  });

  it('adds env to the environment, or replaces it with extendEnv: false', async () => {
    const extended = await runProcess('sh', ['-c', 'echo "$X:${PATH:+path}"'], { env: { X: '1' } });
    assert.equal(extended.stdout, '1:path\n');
    const only = await runProcess('/usr/bin/env', [], { env: { X: '2' }, extendEnv: false });
    assert.equal(only.stdout, 'X=2\n');
  });

  it('reports a program that cannot start instead of throwing', async () => {
    const r = await runProcess('/nonexistent/tsnerd-no-such-program', []);
    assert.equal(r.spawnError?.code, 'ENOENT');
    assert.equal(r.exitCode, null);
  });

  it('ignores a child that exits without reading its input', async () => {
    const r = await runProcess('true', [], { input: 'x'.repeat(1 << 20) });
    assert.equal(r.exitCode, 0);
  });

  it('kills the whole process group at the deadline', async () => {
    const started = Date.now();
    // The grandchild keeps stdout open: only a group kill ends the run.
    const r = await runProcess('sh', ['-c', 'sleep 30 & sleep 30'], { detached: true, timeoutMs: 200 });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(Date.now() - started < 10_000, 'returned long before the sleeps ended');
  });
});
