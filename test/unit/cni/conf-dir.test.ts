import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfDir } from '../../../src/adapters/cni/conf-dir.ts';
import { parseConf, parseConfList } from '../../../src/domain/cni/net-conf.ts';

const conflist = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name,
    plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true } }],
    ...extra,
  });

describe('loadConfDir', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsnerd-confdir-'));
    await writeFile(join(dir, '20-b.conflist'), conflist('b'));
    await writeFile(
      join(dir, '10-a.conf'),
      JSON.stringify({ cniVersion: '0.4.0', name: 'a', type: 'bridge', ipam: { type: 'host-local' } }),
    );
    await writeFile(join(dir, '15-broken.conflist'), '{"cniVersion": "1.0.0", "name": ');
    await writeFile(join(dir, '30-c.json'), conflist('c', { disableCheck: 'true', disableGC: false }));
    await writeFile(join(dir, '40-notype.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'd', plugins: [{ bridge: 'x' }] }));
    await writeFile(join(dir, '50-dup.conflist'), conflist('b'));
    await writeFile(join(dir, 'README.md'), 'not a config');
    await mkdir(join(dir, 'ns1'));
    await writeFile(join(dir, 'ns1', 'nerdctl-e.conflist'), conflist('e'));
    await mkdir(join(dir, 'ns1', 'deeper'));
    await writeFile(join(dir, 'ns1', 'deeper', 'x.conflist'), conflist('x'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('loads the good files in lexical order and names each skipped one', async () => {
    const { lists, warnings } = loadConfDir(dir);
    assert.deepEqual(
      lists.map((l) => l.name),
      ['a', 'b', 'c'],
    );
    assert.equal(warnings.length, 3);
    assert.match(warnings[0]!, new RegExp(`^skipping invalid CNI config "${join(dir, '15-broken.conflist')}": `));
    assert.equal(warnings[1], `skipping invalid CNI config "${join(dir, '40-notype.conflist')}": plugins.0.type: missing type`);
    assert.match(warnings[2]!, /50-dup\.conflist": network "b" is already defined in ".*20-b\.conflist"$/);
  });

  it('adds the namespace subfolder, not nested folders', async () => {
    const { lists } = loadConfDir(dir, { namespace: 'ns1' });
    assert.deepEqual(
      lists.map((l) => l.name),
      ['a', 'b', 'c', 'e'],
    );
    assert.equal(lists[3]!.file, join(dir, 'ns1', 'nerdctl-e.conflist'));
  });

  it('upconverts a .conf to a one-plugin list and reads flags and capabilities', async () => {
    const { lists } = loadConfDir(dir);
    const [a, b, c] = lists;
    assert.deepEqual(
      a!.plugins.map((p) => p.type),
      ['bridge'],
    );
    assert.equal(a!.cniVersion, '0.4.0');
    assert.deepEqual(JSON.parse(a!.bytes), {
      cniVersion: '0.4.0',
      name: 'a',
      plugins: [{ cniVersion: '0.4.0', name: 'a', type: 'bridge', ipam: { type: 'host-local' } }],
    });
    assert.deepEqual(b!.plugins[1]!.capabilities, ['portMappings']);
    assert.equal(c!.disableCheck, true);
    assert.equal(c!.disableGC, false);
  });

  it('returns nothing for a missing dir', async () => {
    assert.deepEqual(loadConfDir(join(dir, 'nope')), { lists: [], warnings: [] });
  });
});

describe('parseConfList', () => {
  it('selects the highest supported of cniVersions and cniVersion', () => {
    const l = parseConfList(
      JSON.stringify({ cniVersion: '0.4.0', cniVersions: ['1.0.0', '9.9.9', '1.1.0'], name: 'n', plugins: [{ type: 'x' }] }),
    );
    assert.equal(l.cniVersion, '1.1.0');
    const plain = parseConfList(JSON.stringify({ cniVersion: '1.2.3', name: 'n', plugins: [{ type: 'x' }] }));
    assert.equal(plain.cniVersion, '1.2.3');
  });

  const failures: Array<[string, unknown, RegExp]> = [
    ['a bad disableCheck', { name: 'n', disableCheck: 'yes', plugins: [{ type: 'x' }] }, /disableCheck: invalid value "yes"/],
    ['an empty plugin list', { name: 'n', plugins: [] }, /plugins: no plugins in list/],
    ['a missing plugin list', { name: 'n' }, /plugins: no plugin configs found/],
    ['a bad network name', { name: '-n', plugins: [{ type: 'x' }] }, /name: invalid network name/],
    [
      "a name that is not a string (zod's English message)",
      { name: 3, plugins: [{ type: 'x' }] },
      /"\/x\.conflist": name: invalid input: expected string, received number$/,
    ],
    [
      'a non-boolean capability',
      { name: 'n', plugins: [{ type: 'x', capabilities: { ips: 1 } }] },
      /plugins\.0\.capabilities\.ips: invalid input: expected boolean, received number$/,
    ],
    ['a type with a slash', { name: 'n', plugins: [{ type: '../x' }] }, /plugins\.0\.type: must not contain "\/"/],
    ['a bad cniVersions entry', { name: 'n', cniVersions: ['1.0.f'], plugins: [{ type: 'x' }] }, /invalid CNI version "1\.0\.f"/],
  ];
  for (const [what, conf, message] of failures) {
    it(`rejects ${what}`, () => {
      assert.throws(() => parseConfList(JSON.stringify(conf), '/x.conflist'), { kind: 'invalid', message });
    });
  }

  it('rejects a .conf without type', () => {
    assert.throws(() => parseConf('{"name":"n","cniVersion":"1.0.0"}', '/a.conf'), {
      kind: 'invalid',
      message: /^invalid CNI config "\/a\.conf": type:/,
    });
  });
});
