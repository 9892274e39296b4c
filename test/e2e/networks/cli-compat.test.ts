/**
 * What a nerdctl/Docker user types first about networks, checked against nerdctl's and
 * Docker's output: prompts, formats, templates, global networking flags. Resources of this
 * file: networks au-cc-* in 10.227.0.0/16, no host ports. Every test removes what it made.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as h from '../harness.ts';
import { removeAfter, startEnv, tsnerd, type TestEnv } from '../harness.ts';

describe('networking CLI as nerdctl and Docker users type it', { timeout: 300_000 }, () => {
  let env: TestEnv;
  const ok = (args: string[], input?: string) => h.ok(env, args, input === undefined ? {} : { input });
  const cleanup = (t: TestContext, what: { containers?: string[]; networks?: string[] }) => removeAfter(t, env, what);
  const names = async () => h.lines(await ok(['network', 'ls', '--format', '{{.Name}}']));

  before(async () => {
    env = await startEnv('au-compat');
  });
  after(async () => {
    await env?.stop();
  });

  it('network prune without -f asks; no answer (stdin at its end) is a no, y removes', async (t) => {
    cleanup(t, { networks: ['au-cc-p1'] });
    await ok(['network', 'create', 'au-cc-p1', '--subnet', '10.227.10.0/24']);
    // stdin is /dev/null: before, the prompt never settled and node exited 13 (unsettled top-level await)
    const r = await tsnerd(env, ['network', 'prune']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /Are you sure you want to continue\? \[y\/N\]/);
    assert.equal(r.stdout, '');
    assert.ok((await names()).includes('au-cc-p1'));
    assert.equal(await ok(['network', 'prune'], 'n\n'), '');
    assert.ok((await names()).includes('au-cc-p1'));
    assert.equal(await ok(['network', 'prune'], 'y\n'), 'Deleted Networks:\nau-cc-p1');
    assert.ok(!(await names()).includes('au-cc-p1'));
  });

  it('network ls --format raw is refused, as nerdctl', async () => {
    const r = await tsnerd(env, ['network', 'ls', '--format', 'raw']);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /unsupported format: "raw"/);
    assert.equal(r.stdout, '');
  });
});
