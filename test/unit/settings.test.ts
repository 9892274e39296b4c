import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addressHash, resolveSettings } from '../../src/domain/settings.ts';

const base = { flags: {}, env: {}, file: {}, defaultCniPath: '/usr/lib/cni' };

describe('resolveSettings', () => {
  it('uses nerdctl defaults when nothing is set', () => {
    assert.deepEqual(resolveSettings(base), {
      address: '/run/containerd/containerd.sock',
      namespace: 'default',
      dataRoot: '/var/lib/tsnerd',
      cniPath: '/usr/lib/cni',
      cniNetconfPath: '/etc/cni/net.d',
      debug: false,
    });
  });

  it('prefers flag over env over file over default', () => {
    const s = resolveSettings({
      ...base,
      flags: { namespace: 'fromflag' },
      env: { CONTAINERD_NAMESPACE: 'fromenv', NETCONFPATH: '/env/net.d' },
      file: { namespace: 'fromfile', cni_netconfpath: '/file/net.d', data_root: '/file/root' },
    });
    assert.equal(s.namespace, 'fromflag');
    assert.equal(s.cniNetconfPath, '/env/net.d');
    assert.equal(s.dataRoot, '/file/root');
  });

  it('strips unix:// from the address', () => {
    assert.equal(resolveSettings({ ...base, env: { CONTAINERD_ADDRESS: 'unix:///x/c.sock' } }).address, '/x/c.sock');
  });
});

describe('addressHash', () => {
  it('matches nerdctl for the default socket', () => {
    assert.equal(addressHash('/run/containerd/containerd.sock'), '1935db59');
    assert.equal(addressHash('unix:///run/containerd/containerd.sock'), '1935db59');
  });
});
