import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { liveStartTime, parseProcStat, procStat, processExists } from '../../../src/adapters/host/proc.ts';

describe('/proc readings', () => {
  it('parses a stat line whose command name holds spaces and parentheses', () => {
    const rest = Array.from({ length: 20 }, (_, i) => String(100 + i)).join(' ');
    const s = parseProcStat(`4242 (a (b) c) S 17 ${rest}`);
    // state, ppid, then fields 5.. ; starttime is the 20th after the name
    assert.deepEqual(s, { state: 'S', ppid: 17, startTime: '117', live: true });
    assert.equal(parseProcStat(`1 (z) Z 0 ${rest}`)?.live, false);
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('reads this process: live, its parent, a start time; a pid that does not exist reads as gone', async () => {
    const s = await procStat(process.pid);
    assert.equal(s?.live, true);
    assert.equal(s?.ppid, process.ppid);
    assert.equal(await liveStartTime(process.pid), s?.startTime);
    assert.equal(processExists(process.pid), true);
    assert.equal(await procStat(999_999_999), undefined);
    assert.equal(processExists(999_999_999), false);
  });
});
