import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import {
  CREATION_CLAIM_FILE,
  readCreationClaim,
  removeCreationClaim,
  writeCreationClaim,
  writeRemovalClaim,
} from '../../../src/adapters/host/creation-claim.ts';
import { endRequest, setRequestIoProvider, type RequestIo } from '../../../src/adapters/host/request-env.ts';

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

  it("in a CLI server's request: a claim still there when the request ends is an ended owner's, the process living on", async () => {
    const io: RequestIo = {
      pid: process.pid,
      cwd: '/',
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      signals: new EventEmitter(),
      exitCode: undefined,
      atEnd: [],
    };
    setRequestIoProvider(() => io);
    const [left, committed, taken, staged, placed] = ['left', 'committed', 'taken', 'staged', 'placed'].map((d) => join(dir, d)) as [
      string,
      string,
      string,
      string,
      string,
    ];
    try {
      for (const d of [left, committed, taken, staged]) await mkdir(d);
      await writeCreationClaim(left, 'left');
      await writeCreationClaim(committed, 'committed');
      await writeRemovalClaim(taken, 'taken');
      await writeCreationClaim(staged, 'staged', placed);
      await rename(staged, placed);
      await removeCreationClaim(committed);
      await writeFile(join(taken, CREATION_CLAIM_FILE), '1 2 3 taken\n'); // claimed by another process since
      assert.deepEqual(await readCreationClaim(left), { name: 'left', ownerAlive: true }, 'live while the request runs');
    } finally {
      setRequestIoProvider(() => undefined);
    }
    endRequest(io, (err) => assert.fail(String(err)));
    assert.deepEqual(await readCreationClaim(left), { name: 'left', ownerAlive: false });
    assert.deepEqual(await readCreationClaim(placed), { name: 'staged', ownerAlive: false }, 'where the staging dir went');
    assert.equal(await readCreationClaim(committed), undefined);
    assert.equal(await readFile(join(taken, CREATION_CLAIM_FILE), 'utf8'), '1 2 3 taken\n', "another's claim is left alone");
    assert.deepEqual(io.atEnd, []);
  });

  it("outside a request, a claim stays this live process's", async () => {
    const d = join(dir, 'cli');
    await mkdir(d);
    await writeCreationClaim(d, 'cli');
    assert.deepEqual(await readCreationClaim(d), { name: 'cli', ownerAlive: true });
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
