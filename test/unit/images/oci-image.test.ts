import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chainIds,
  manifestGcLabels,
  parseDocument,
  ManifestSchema,
  selectManifest,
  LINUX_AMD64,
  MEDIA,
} from '../../../src/domain/oci/image.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;

test('chain IDs follow the OCI definition', () => {
  const [a, b, c] = [d('a'), d('b'), d('c')];
  const ab = `sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`;
  const abc = `sha256:${createHash('sha256').update(`${ab} ${c}`).digest('hex')}`;
  assert.deepEqual(chainIds([a, b, c]), [a, ab, abc]);
  assert.deepEqual(chainIds([]), []);
});

test('linux/amd64 is picked from an index', () => {
  const m = (arch: string, c: string) => ({
    mediaType: MEDIA.ociManifest,
    digest: d(c),
    size: 1,
    platform: { os: 'linux', architecture: arch },
  });
  assert.equal(selectManifest({ manifests: [m('arm64', 'a'), m('amd64', 'b')] }, LINUX_AMD64)?.digest, d('b'));
  assert.equal(selectManifest({ manifests: [m('arm64', 'a')] }, LINUX_AMD64), undefined);
});

test('manifest GC labels reference config and layers as containerd names them', () => {
  const manifest = {
    config: { mediaType: MEDIA.ociConfig, digest: d('c'), size: 1 },
    layers: [
      { mediaType: 'x', digest: d('1'), size: 1 },
      { mediaType: 'x', digest: d('2'), size: 1 },
    ],
  };
  assert.deepEqual(manifestGcLabels(manifest), {
    'containerd.io/gc.ref.content.config': d('c'),
    'containerd.io/gc.ref.content.l.0': d('1'),
    'containerd.io/gc.ref.content.l.1': d('2'),
  });
});

test('malformed documents are invalid errors saying what is wrong', () => {
  assert.throws(
    () => parseDocument(ManifestSchema, '{', 'manifest m'),
    (e: unknown) => isTsnerdError(e, 'invalid') && e.message === 'manifest m is not valid JSON',
  );
  assert.throws(
    () => parseDocument(ManifestSchema, JSON.stringify({ config: { mediaType: 'x', digest: 'nope', size: 1 }, layers: [] }), 'manifest m'),
    (e: unknown) => isTsnerdError(e, 'invalid') && /^manifest m is malformed: config\.digest/.test(e.message),
  );
  const malformed = (doc: unknown) => {
    try {
      parseDocument(ManifestSchema, JSON.stringify(doc), 'manifest m');
    } catch (e) {
      return (e as Error).message;
    }
    return 'parsed';
  };
  const config = { mediaType: 'x', digest: d('c'), size: 1 };
  assert.equal(malformed({ config }), 'manifest m is malformed: layers: Invalid input: expected array, received undefined');
  assert.equal(
    malformed({ config: { ...config, size: 1.5 }, layers: [] }),
    'manifest m is malformed: config.size: Invalid input: expected int, received number',
  );
  assert.equal(
    malformed({ config: { ...config, size: -1 }, layers: [] }),
    'manifest m is malformed: config.size: Too small: expected number to be >=0',
  );
  assert.equal(malformed([]), 'manifest m is malformed: document: Invalid input: expected object, received array');
});
