import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorList, TsnerdError, conflict, toTsnerdError, usage } from '../../src/domain/errors.ts';

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

describe('toTsnerdError', () => {
  /** A system error as node makes it. */
  const systemError = (code: string, text: string, syscall: string, path?: string) =>
    Object.assign(new Error(`${code}: ${text}, ${syscall}${path === undefined ? '' : ` '${path}'`}`), {
      code,
      syscall,
      ...(path === undefined ? {} : { path }),
    });

  it("prints a failed system call as Go and Docker do, the file first, and a full disk is the host's, not a bug", () => {
    const e = toTsnerdError(systemError('ENOSPC', 'no space left on device', 'write', '/var/lib/tsnerd/x/hosts'));
    assert.equal(e.message, 'write /var/lib/tsnerd/x/hosts: no space left on device');
    assert.equal(e.kind, 'precondition');
    assert.equal(toTsnerdError(systemError('EROFS', 'read-only file system', 'open', '/x')).kind, 'precondition');
  });

  it('without a file (a write to a descriptor), the call and the reason', () => {
    assert.equal(toTsnerdError(systemError('ENOSPC', 'no space left on device', 'write')).message, 'write: no space left on device');
  });

  it('other system errors keep their kind, with the same layout; other errors their message', () => {
    const e = toTsnerdError(systemError('ENOENT', 'no such file or directory', 'open', '/etc/x'));
    assert.equal(e.message, 'open /etc/x: no such file or directory');
    assert.equal(e.kind, 'internal');
    assert.equal(toTsnerdError(new Error('plain')).message, 'plain');
    assert.equal(toTsnerdError(Object.assign(new Error('odd'), { code: 'ERR_SOMETHING', syscall: 'x' })).message, 'odd');
  });
});
