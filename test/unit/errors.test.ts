import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorList, TsnerdError, conflict, usage } from '../../src/domain/errors.ts';

describe('TsnerdError', () => {
  it('exits 2 for usage errors and 1 otherwise', () => {
    assert.equal(usage('bad flag').exitCode, 2);
    assert.equal(conflict('network "foo" already exists').exitCode, 1);
  });
});

describe('ErrorList', () => {
  it('keeps going after a failure and reports all of them', async () => {
    const list = new ErrorList();
    const ran: number[] = [];
    await list.attempt(() => {
      ran.push(1);
      throw new Error('first');
    });
    await list.attempt(() => {
      ran.push(2);
    });
    await list.attempt(() => {
      throw conflict('second');
    });
    assert.deepEqual(ran, [1, 2]);
    assert.throws(
      () => list.throwIfAny(),
      (e: unknown) => e instanceof TsnerdError && e.message === 'first; second',
    );
  });
});
