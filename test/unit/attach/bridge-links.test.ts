import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfList } from '../../../src/domain/cni/net-conf.ts';
import { bridgeLinks } from '../../../src/app/attach/attachment.ts';

const list = (plugins: object[]) => parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins }));

describe('bridgeLinks', () => {
  it('names the bridge of a bridge plugin', () => {
    assert.deepEqual(
      bridgeLinks(
        list([
          { type: 'bridge', bridge: 'br-0123456789ab' },
          { type: 'portmap', capabilities: { portMappings: true } },
        ]),
      ),
      ['br-0123456789ab'],
    );
  });
  it("falls back to the plugin's default cni0", () => {
    assert.deepEqual(bridgeLinks(list([{ type: 'bridge' }])), ['cni0']);
    assert.deepEqual(bridgeLinks(list([{ type: 'bridge', bridge: '' }])), ['cni0']);
  });
  it('has none for macvlan, ipvlan and other plugins', () => {
    assert.deepEqual(bridgeLinks(list([{ type: 'macvlan', master: 'eth0' }, { type: 'tuning' }])), []);
  });
});
