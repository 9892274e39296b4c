/**
 * Image load/pull/list/rmi against the private containerd and a throwaway registry on a
 * port the kernel picks. Resources of this file: no networks, subnets or fixed host
 * ports. Every test that stores an image removes all images in t.after.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { ctr, lines, startEnv, startRegistry, testImageArchive, tsnerd, type TestEnv } from '../harness.ts';

const BUSYBOX = 'docker.io/library/busybox:latest';
const TSNERD_BIN = join(import.meta.dirname, '../../../bin/tsnerd');

describe('images: load, pull, list, rmi', { timeout: 600_000 }, () => {
  let env: TestEnv;
  let archive: string;
  let work: string;
  /** Removes every image after the test (synchronously garbage-collected), so the next starts from none. */
  const removeImagesAfter = (t: TestContext) =>
    t.after(async () => {
      const names = await imageNames();
      if (names.length > 0) await ctr(env, ['images', 'rm', '--sync', ...names]);
    });
  const loadBusybox = async () => {
    const r = await tsnerd(env, ['load', '-i', archive]);
    assert.equal(r.exitCode, 0, r.stderr);
  };
  const contentDigests = async () => lines((await ctr(env, ['content', 'ls', '-q'])).stdout);
  const imageNames = async () => lines((await ctr(env, ['images', 'ls', '-q'])).stdout);
  const snapshotKeys = async () =>
    lines((await ctr(env, ['snapshots', 'ls'])).stdout)
      .slice(1)
      .map((l) => l.split(/\s+/)[0]);
  const leases = async () => lines((await ctr(env, ['leases', 'ls', '-q'])).stdout);
  const assertCleanFailure = (r: { stderr: string; exitCode: number }, pattern: RegExp) => {
    assert.notEqual(r.exitCode, 0);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  };
  const assertNothingLeft = async () => {
    assert.deepEqual(await imageNames(), []);
    assert.deepEqual(await contentDigests(), []);
    assert.deepEqual(await snapshotKeys(), []);
    assert.deepEqual(await leases(), []);
  };

  before(async () => {
    env = await startEnv('t-images');
    archive = await testImageArchive();
    work = await mkdtemp(join(tmpdir(), 'tsnerd-images-test-'));
  });
  after(async () => {
    await env?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a file that is not an archive fails in one line and leaves nothing', async () => {
    const bad = join(work, 'bad.tar');
    await writeFile(bad, 'this is not a tar archive\n'.repeat(100));
    assertCleanFailure(await tsnerd(env, ['load', '-i', bad]), /^tsnerd: archive ".*bad\.tar": not a tar archive/);
    await assertNothingLeft();
  });

  it('a truncated archive fails and its blobs written so far are reclaimed', async () => {
    const whole = await readFile(archive);
    const cut = join(work, 'truncated.tar');
    // Past the small JSON files and into the big layer blob.
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length * 0.8)));
    assertCleanFailure(await tsnerd(env, ['load', '-i', cut]), /^tsnerd: archive ".*truncated\.tar": .*truncated/);
    await assertNothingLeft();
  });

  it('a missing archive file is a clear error', async () => {
    assertCleanFailure(await tsnerd(env, ['load', '-i', join(work, 'nope.tar')]), /^tsnerd: archive ".*nope\.tar" does not exist/);
  });

  it('load -i loads and unpacks the busybox OCI archive; images lists it', async (t) => {
    removeImagesAfter(t);
    const r = await tsnerd(env, ['load', '-i', archive]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, `Loaded image: ${BUSYBOX}`);
    assert.deepEqual(await imageNames(), [BUSYBOX]);
    assert.equal((await snapshotKeys()).length, 1);
    assert.deepEqual(await leases(), []);

    const table = await tsnerd(env, ['images']);
    assert.equal(table.exitCode, 0, table.stderr);
    const [header, row] = lines(table.stdout);
    assert.match(header!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(row!, /^busybox\s+latest\s+[a-f0-9]{12}\s+\d+ years ago\s+[\d.]+ (KiB|MiB)$/);

    const quiet = await tsnerd(env, ['images', '-q']);
    assert.match(quiet.stdout, /^[a-f0-9]{12}$/);
    const json = JSON.parse((await tsnerd(env, ['images', '--format', 'json'])).stdout);
    assert.equal(json.Repository, 'busybox');
    assert.equal(json.Tag, 'latest');
    assert.match(json.Digest, /^sha256:[a-f0-9]{64}$/);
  });

  it('load reads a gzip-compressed archive from stdin', async (t) => {
    removeImagesAfter(t);
    const gz = join(work, 'busybox.tar.gz');
    await execa('sh', ['-c', `gzip -c < '${archive}' > '${gz}'`]);
    const r = await execa(TSNERD_BIN, ['load'], { env: { ...process.env, ...env.env }, inputFile: gz, reject: false });
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.equal(r.stdout, `Loaded image: ${BUSYBOX}`);
    assert.deepEqual(await imageNames(), [BUSYBOX]);
  });

  it('load accepts a docker-save archive and names it from RepoTags', async (t) => {
    removeImagesAfter(t);
    await loadBusybox();
    const saved = await dockerSaveFromOci(archive, join(work, 'docker-save'), 'saved:v1');
    const r = await tsnerd(env, ['load', '-i', saved]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'Loaded image: docker.io/library/saved:v1');
    assert.ok((await imageNames()).includes('docker.io/library/saved:v1'));
    // Same layer as busybox: the snapshot is shared, not unpacked again.
    assert.equal((await snapshotKeys()).length, 1);
  });

  it('rmi removes the image record and GC reclaims what only it used', async (t) => {
    removeImagesAfter(t);
    await loadBusybox();
    const saved = await tsnerd(env, ['load', '-i', await dockerSaveFromOci(archive, join(work, 'docker-save-rmi'), 'saved:v1')]);
    assert.equal(saved.exitCode, 0, saved.stderr);
    const r = await tsnerd(env, ['rmi', 'saved:v1', 'busybox']);
    assert.equal(r.exitCode, 0, r.stderr);
    await assertNothingLeft();
    assertCleanFailure(await tsnerd(env, ['rmi', 'busybox']), /^tsnerd: no such image: "busybox"$/);
    assert.equal((await tsnerd(env, ['rmi', '-f', 'busybox'])).exitCode, 0);
  });

  it('pull from a registry over plain HTTP; unknown images are a clear error', async (t) => {
    removeImagesAfter(t);
    const registry = await startRegistry();
    try {
      const push = await execa(
        'skopeo',
        ['copy', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${registry.host}/busybox:latest`],
        { reject: false },
      );
      assert.equal(push.exitCode, 0, String(push.stderr));
      const ref = `${registry.host}/busybox:latest`;
      const r = await tsnerd(env, ['pull', ref, '--insecure-registry']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(lines(r.stdout).at(-1), ref);
      assert.deepEqual(await imageNames(), [ref]);
      assert.equal((await snapshotKeys()).length, 1);
      assert.deepEqual(await leases(), []);

      const unknown = await tsnerd(env, ['pull', `${registry.host}/nosuch:latest`, '--insecure-registry']);
      assertCleanFailure(unknown, /^tsnerd: image ".*\/nosuch:latest" not found in registry /);
      assert.deepEqual(await imageNames(), [ref]);

      assert.equal((await tsnerd(env, ['rmi', ref])).exitCode, 0);
      await assertNothingLeft();
    } finally {
      await registry.stop();
    }
  });

  it('containerd not running: cannot connect, one line, no stack trace', async () => {
    const bogus = join(work, 'no-containerd.sock');
    for (const args of [['images'], ['version'], ['load', '-i', archive]]) {
      const r = await execa(TSNERD_BIN, args, { env: { ...process.env, ...env.env, CONTAINERD_ADDRESS: bogus }, reject: false });
      assertCleanFailure(
        { stderr: String(r.stderr), exitCode: r.exitCode ?? 1 },
        /^tsnerd: cannot connect to containerd at ".*no-containerd\.sock": is it running\?$/,
      );
    }
  });
});

/** Rebuilds the OCI archive's image as `docker save` lays it out: <id>/layer.tar, <config>.json, manifest.json. */
async function dockerSaveFromOci(ociArchive: string, dir: string, repoTag: string): Promise<string> {
  const layout = join(dir, 'layout');
  const out = join(dir, 'image');
  await mkdir(layout, { recursive: true });
  await mkdir(out, { recursive: true });
  await execa('tar', ['-xf', ociArchive, '-C', layout]);
  const blob = (digest: string) => join(layout, 'blobs', ...digest.split(':'));
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0].digest), 'utf8'));
  const configHex = manifest.config.digest.split(':')[1];
  await writeFile(join(out, `${configHex}.json`), await readFile(blob(manifest.config.digest)));
  const layers: string[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    const name = `layer${i}/layer.tar`;
    await mkdir(join(out, `layer${i}`));
    await writeFile(join(out, name), gunzipSync(await readFile(blob(layer.digest))));
    layers.push(name);
  }
  await writeFile(join(out, 'manifest.json'), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [repoTag], Layers: layers }]));
  await writeFile(join(out, 'repositories'), JSON.stringify({}));
  const tarPath = join(dir, 'saved.tar');
  await execa('tar', ['-cf', tarPath, '-C', out, '.']);
  return tarPath;
}
