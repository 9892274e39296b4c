import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CREATION_CLAIM_FILE,
  readCreationClaim,
  removeCreationClaim,
  writeCreationClaim,
} from '../../../src/adapters/host/creation-claim.ts';

describe('creation claim', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsnerd-claim-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('names this process as a live owner, once, until removed', async () => {
    await writeCreationClaim(dir, 'web');
    assert.deepEqual(await readCreationClaim(dir), { name: 'web', ownerAlive: true });
    await assert.rejects(writeCreationClaim(dir, 'other'), { code: 'EEXIST' });
    await removeCreationClaim(dir);
    await removeCreationClaim(dir);
    assert.equal(await readCreationClaim(dir), undefined);
  });

  it('reads an owner that exited, a recycled pid (other start time), another boot or a cut-short file as dead', async () => {
    const exited = spawnSync('true').pid!;
    const [pid, start, boot] = (await readClaimText(dir, 'web')).split(' ');
    for (const text of [`${exited} ${start} ${boot} web`, `${pid} 1 ${boot} web`, `${pid} ${start} 00000000-0000 web`, '']) {
      await writeFile(join(dir, CREATION_CLAIM_FILE), text);
      assert.equal((await readCreationClaim(dir))?.ownerAlive, false, JSON.stringify(text));
    }
    await removeCreationClaim(dir);
  });

  it('is absent when the state dir is', async () => {
    assert.equal(await readCreationClaim(join(dir, 'nope')), undefined);
  });
});

async function readClaimText(dir: string, name: string): Promise<string> {
  await writeCreationClaim(dir, name);
  const text = (await readFile(join(dir, CREATION_CLAIM_FILE), 'utf8')).trim();
  await removeCreationClaim(dir);
  return text;
}
