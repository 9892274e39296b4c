import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LowdbBridgeRegistry } from '../../../src/adapters/store/lowdb-bridge-registry.ts';

const roots: string[] = [];
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'bridges-'));
  roots.push(root);
  const file = (ns: string) => join(root, 'net', ns, 'nerdctl-fx.conflist');
  return { root, file, registry: new LowdbBridgeRegistry(root) };
}

const entries = async (registry: LowdbBridgeRegistry) =>
  (await registry.list()).map((b) => `${b.link} ${b.network} ${b.file.replace(/^.*\/net\//, '')} ${b.conflistPresent}`);

describe('LowdbBridgeRegistry', () => {
  it('the undo of a record takes out only what that record added (a losing create keeps the winner record)', async () => {
    const { registry, file } = await setup();
    const undoWinner = await registry.record({ link: 'br-1', network: 'fx', file: file('a') });
    // The loser of two creates of one network records the same link and file, then finds the conflist there.
    const undoLoser = await registry.record({ link: 'br-1', network: 'fx', file: file('a') });
    await undoLoser();
    assert.deepEqual(await entries(registry), ['br-1 fx a/nerdctl-fx.conflist false']);
    await undoWinner();
    assert.deepEqual(await entries(registry), []);
  });

  it('keeps one record per conflist of a shared link; forget drops only a gone conflist of its own file', async () => {
    const { registry, file } = await setup();
    await registry.record({ link: 'br-1', network: 'fx', file: file('a') });
    const undoB = await registry.record({ link: 'br-1', network: 'fx', file: file('b') });
    await mkdir(dirname(file('a')), { recursive: true });
    await writeFile(file('a'), '{}');
    assert.deepEqual(await entries(registry), ['br-1 fx a/nerdctl-fx.conflist true', 'br-1 fx b/nerdctl-fx.conflist false']);
    await registry.forget('br-1', file('a')); // still there: a network rm that failed to delete it, or one written again
    await undoB();
    assert.deepEqual(await entries(registry), ['br-1 fx a/nerdctl-fx.conflist true']);
    await rm(file('a'));
    await registry.forget('br-1', file('a'));
    assert.deepEqual(await entries(registry), []);
  });

  it('reads the form written before links could be shared, and writes one conflist in that form', async () => {
    const { registry, file, root } = await setup();
    await writeFile(join(root, 'bridges.json'), JSON.stringify({ bridges: { 'br-1': { network: 'fx', file: file('a') } } }));
    assert.deepEqual(await entries(registry), ['br-1 fx a/nerdctl-fx.conflist false']);
    await registry.record({ link: 'br-2', network: 'fy', file: file('b') });
    const doc = JSON.parse(await readFile(join(root, 'bridges.json'), 'utf8'));
    assert.deepEqual(doc.bridges['br-2'], { network: 'fy', file: file('b') });
  });
});
