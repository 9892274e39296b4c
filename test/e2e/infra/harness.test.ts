/**
 * The private containerd, the test image and the registry. Resources of this file: envs
 * t-infra-harness and t-infra-stop, containers t-infra-*, no networks or fixed host ports.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { ctr, importTestImage, startEnv, startRegistry, testImageArchive, type TestEnv } from '../harness.ts';

describe('e2e harness', { timeout: 300_000 }, () => {
  let env: TestEnv;
  let ref: string;
  before(async () => {
    env = await startEnv('t-infra-harness');
    ref = await importTestImage(env);
  });
  after(async () => {
    await env?.stop();
  });

  it('runs the busybox test image on the private containerd', async () => {
    assert.equal(ref, 'docker.io/library/busybox:latest');
    const result = await ctr(env, ['run', '--rm', ref, 't-infra-t1', 'echo', 'hello']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'hello');
  });

  it('gives every busybox applet a path in the image', async () => {
    const result = await ctr(env, [
      'run',
      '--rm',
      'docker.io/library/busybox:latest',
      't-infra-t2',
      'sh',
      '-c',
      'for f in /usr/sbin/httpd /usr/bin/wget /sbin/ip; do readlink $f; done && cat /etc/passwd',
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /^(\/bin\/busybox\n){3}/);
    assert.match(result.stdout, /^nobody:x:65534:/m);
  });

  it('leaves nothing behind after stop', async (t) => {
    const other = await startEnv('t-infra-stop');
    t.after(() => other.stop());
    await importTestImage(other);
    const started = await ctr(other, ['run', '-d', 'docker.io/library/busybox:latest', 't-infra-t3', 'sleep', '600']);
    assert.equal(started.exitCode, 0, started.stderr);
    await other.stop();
    assert.equal(existsSync(other.dir), false);
    const mounts = await execa('cat', ['/proc/self/mounts']);
    assert.equal(mounts.stdout.includes(other.dir), false);
    const ps = await execa('ps', ['-eo', 'args']);
    assert.equal(ps.stdout.includes(other.dir), false);
  });
});

describe('test registry', { timeout: 120_000 }, () => {
  it('accepts the test image pushed with skopeo and lists it', async () => {
    const registry = await startRegistry();
    try {
      const archive = await testImageArchive();
      const pushed = await execa(
        'skopeo',
        ['copy', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${registry.host}/busybox:latest`],
        { reject: false },
      );
      assert.equal(pushed.exitCode, 0, pushed.stderr);
      const catalog = await (await fetch(`http://${registry.host}/v2/_catalog`)).json();
      assert.deepEqual(catalog, { repositories: ['busybox'] });
    } finally {
      await registry.stop();
    }
  });
});
