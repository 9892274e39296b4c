import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, decodeReply, decodeRequest, encodeReply, encodeRequest } from '../../../src/hook-server/protocol.ts';

const request = {
  args: ['createRuntime', '--data-root', '/var/lib/tsnerd', '--debug'],
  env: { PATH: '/usr/bin:/bin', TSNERD_FAULT: 'a=b', EMPTY: '', UNICODE: 'é ✓' },
  stdin: '{"id":"c1","annotations":{"x":"ünïcode, with commas: and colons"}}',
};

describe('hook server protocol', () => {
  it('a request survives encoding, split into any two pieces', () => {
    const wire = encodeRequest(request);
    assert.deepEqual(decodeRequest(wire), request);
    for (let cut = 0; cut < wire.length; cut++) assert.equal(decodeRequest(wire.subarray(0, cut)), undefined, `cut at ${cut}`);
  });

  it('counts lengths in bytes, as the perl client does', () => {
    assert.match(encodeRequest({ args: ['é'], env: {}, stdin: '' }).toString('latin1'), /^13:tsnerd-hook-1,1:1,2:/);
  });

  it('refuses another protocol, a malformed field, a nameless variable and bytes after the request', () => {
    assert.throws(() => decodeRequest(Buffer.from('13:tsnerd-hook-0,')), ProtocolError);
    assert.throws(() => decodeRequest(Buffer.from('x3:abc,')), ProtocolError);
    assert.throws(() => decodeRequest(Buffer.from('13:tsnerd-hook-1;')), ProtocolError);
    assert.throws(() => decodeRequest(Buffer.from('13:tsnerd-hook-1,1:x,')), ProtocolError);
    assert.throws(() => decodeRequest(Buffer.from('13:tsnerd-hook-1,0:,1:1,2:=x,0:,')), ProtocolError);
    assert.throws(() => decodeRequest(Buffer.concat([encodeRequest(request), Buffer.from('1:x,')])), ProtocolError);
    assert.throws(() => decodeRequest(Buffer.from('99999999999:')), ProtocolError);
  });

  it('a reply: not taken without the acknowledgement, taken but unanswered when cut short, answered when whole', () => {
    const reply = Buffer.concat([Buffer.from('A'), encodeReply({ code: 1, stderr: 'tsnerd oci-hook: no\n' })]);
    assert.deepEqual(decodeReply(Buffer.alloc(0)), { taken: false });
    assert.deepEqual(decodeReply(Buffer.from('x')), { taken: false });
    for (let cut = 1; cut < reply.length; cut++) assert.deepEqual(decodeReply(reply.subarray(0, cut)), { taken: true });
    assert.deepEqual(decodeReply(reply), { taken: true, reply: { code: 1, stderr: 'tsnerd oci-hook: no\n' } });
  });
});
