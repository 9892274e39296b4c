import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UndoStack } from '../../../src/app/containers/undo-stack.ts';

test('rolls back in reverse order, going on after a failing step', async () => {
  const undo = new UndoStack();
  const done: string[] = [];
  undo.push(async () => done.push('a'));
  undo.push(async () => {
    throw new Error('b failed');
  });
  undo.push(async () => done.push('c'));
  const errors = await undo.rollback();
  assert.deepEqual(done, ['c', 'a']);
  assert.deepEqual(
    errors.errors.map((e) => e.message),
    ['b failed'],
  );
});

test('guard rethrows the original error after undoing', async () => {
  const undo = new UndoStack();
  let undone = false;
  await assert.rejects(
    undo.guard(async () => {
      undo.push(async () => (undone = true));
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(undone, true);
});

test('commit keeps what was made', async () => {
  const undo = new UndoStack();
  let undone = false;
  undo.push(async () => (undone = true));
  undo.commit();
  await undo.rollback();
  assert.equal(undone, false);
});
