import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
const LAUNCHER = join(REPO, 'bin/tsnerd');

/** bin/tsnerd's help as run by `sh` with argv[0] `arg0`, from `cwd`. */
function help(arg0: string, cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync('/bin/sh', ['-c', '"$0" --help', arg0], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${arg0} --help from ${cwd}: ${r.stderr}`);
  return r.stdout;
}

describe('bin/tsnerd finds its installation (without readlink(1) unless it is a symlink)', () => {
  it('by an absolute path, a relative one, a symlink elsewhere and a bare name on PATH', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-launcher-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    symlinkSync(LAUNCHER, join(dir, 'tsnerd'));
    const expected = help(LAUNCHER, '/');
    assert.match(expected, /nerdctl-style container networking manager/);
    assert.equal(help(relative(dir, LAUNCHER), dir), expected, 'relative path');
    // Not a symlink: found from $0 alone, so neither readlink nor dirname is looked up (an empty PATH).
    assert.equal(help(LAUNCHER, '/', { ...process.env, PATH: dir }), expected, 'no readlink or dirname needed');
    assert.equal(help(join(dir, 'tsnerd'), '/'), expected, 'symlink in another directory');
    assert.equal(help('tsnerd', '/', { ...process.env, PATH: `${dir}:${process.env['PATH'] ?? ''}` }), expected, 'bare name on PATH');
  });
});
