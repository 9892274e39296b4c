import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildResolvConf, parseResolvConf, renderResolvConf } from '../../../src/domain/dns/resolv-conf.ts';

const host = parseResolvConf(
  '# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver fd00::1\nsearch corp.example\noptions edns0 trust-ad\n',
);

describe('resolv.conf', () => {
  it('parses the host file', () => {
    assert.deepEqual(host, {
      nameservers: ['127.0.0.53', '10.0.0.2', 'fd00::1'],
      search: ['corp.example'],
      options: ['edns0', 'trust-ad'],
    });
  });

  it('drops localhost and IPv6 resolvers on CNI networks', () => {
    assert.deepEqual(buildResolvConf('cni', [{}, host]).nameservers, ['10.0.0.2']);
  });

  it('keeps IPv6 resolvers with --net none and localhost ones with --net host', () => {
    assert.deepEqual(buildResolvConf('none', [host]).nameservers, ['10.0.0.2', 'fd00::1']);
    assert.deepEqual(buildResolvConf('host', [host]).nameservers, ['127.0.0.53', '10.0.0.2', 'fd00::1']);
  });

  it('falls back per part: --dns alone still inherits search and options', () => {
    const conf = buildResolvConf('cni', [{ nameservers: ['9.9.9.9'] }, host]);
    assert.equal(renderResolvConf(conf), 'search corp.example\nnameserver 9.9.9.9\noptions edns0 trust-ad\n');
  });

  it('uses public resolvers when only localhost ones exist', () => {
    assert.deepEqual(buildResolvConf('cni', [parseResolvConf('nameserver 127.0.0.1\n')]).nameservers, ['8.8.8.8', '8.8.4.4']);
  });
});
