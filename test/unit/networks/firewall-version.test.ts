import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { supportsIsolatedIngress } from '../../../src/domain/network/firewall-version.ts';

describe('supportsIsolatedIngress', () => {
  it('needs firewall v1.7.1 or later', () => {
    assert.equal(supportsIsolatedIngress('CNI firewall plugin v1.7.1\nCNI protocol versions supported: 1.0.0'), true);
    assert.equal(supportsIsolatedIngress('CNI firewall plugin v1.8.0'), true);
    assert.equal(supportsIsolatedIngress('CNI firewall plugin v2.0.0'), true);
    assert.equal(supportsIsolatedIngress('CNI firewall plugin v1.7.0'), false);
    assert.equal(supportsIsolatedIngress('CNI firewall plugin v1.1.1'), false);
  });

  it('treats an unknown version (distro builds) or no answer as unsupported', () => {
    assert.equal(supportsIsolatedIngress('CNI firewall plugin version unknown'), false);
    assert.equal(supportsIsolatedIngress(''), false);
  });
});
